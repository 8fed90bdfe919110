import { defaultConfig, type SluiceConfig } from "../../src/config/schema.js";
import { Writable } from "node:stream";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { pino } from "pino";
import { loadConfig } from "../../src/config/load.js";
import { startNats, type TestNats } from "./nats_server.js";
import { startPostgres, type TestPostgres } from "./postgres.js";
import { startSluice, type ConfigOverrides, type TestSluice } from "./sluice.js";
import { until } from "./until.js";

export interface NodeOptions {
  ackTimeoutMs?: number;
  /**
   * A PostgreSQL URL every node stores in (`--store`): accounts, devices and tokens are then the
   * same on every node. `startNodes` starts them all at once, as a cluster's nodes would on an
   * empty database (one of them makes the admin account; the others get its token from it).
   */
  store?: string;
  overrides?: ConfigOverrides;
  cluster?: Partial<SluiceConfig["cluster"]>;
}

/** One Sluice node of a test cluster: its own data dir, the shared NATS. */
export interface TestNode extends TestSluice {
  name: string;
  /** An MQTT.js client on this node (anonymous, MQTT 5 unless said otherwise). */
  client(options?: IClientOptions): Promise<MqttClient>;
}

/**
 * Starts Sluice nodes on loopback, each with its own data dir, joined through the NATS at `url`,
 * and waits until each takes clients. Anonymous clients share one namespace on every node. With
 * `store` (a PostgreSQL URL) the nodes share accounts, devices and tokens; without it a token is
 * known only to the node that made it.
 */
export async function startNodes(url: string, names: string[], options: NodeOptions = {}): Promise<TestNode[]> {
  let nodes: TestNode[];
  if (options.store === undefined) {
    nodes = [];
    for (const name of names) nodes.push(await startNode(url, name, options));
  } else {
    let found: (token: string) => void = () => {};
    const made = new Promise<string>((resolve, reject) => {
      found = resolve;
      setTimeout(() => reject(new Error("no node made the admin account (or the store had one already)")), 30_000).unref();
    });
    made.catch(() => undefined); // a store set up before: its token is known, and this times out unheard
    const adminToken = sharedAdminTokens.get(options.store) ?? made;
    nodes = await Promise.all(names.map(async (name) => {
      const s = await startNode(url, name, { ...options, adminToken });
      if (s.server.adminToken !== undefined) found(s.server.adminToken);
      return s;
    }));
  }
  await Promise.all(nodes.map((n) => untilAvailable(n)));
  return nodes;
}

/**
 * One node of `startNodes` (also to start one again, on `dataDir`). With `store`, a PostgreSQL
 * URL, it runs on that shared database; only the first node to start writes the admin token
 * file, so the others are given it (`adminToken`).
 */
export async function startNode(url: string, name: string, options: NodeOptions & { adminToken?: string | Promise<string> } = {}, dataDir?: string): Promise<TestNode> {
  const s = await startSluice({
    allowAnonymous: true, cluster: { ...defaultConfig.cluster, ...options.cluster, url, nodeId: name, ackTimeoutMs: options.ackTimeoutMs ?? 5000 }, sysInterval: 0,
    ...(options.store !== undefined && { postgres: { url: options.store, poolSize: 4 } }),
    ...options.overrides,
  }, dataDir, { adminToken: options.adminToken ?? sharedAdminTokens.get(options.store ?? "") });
  if (options.store !== undefined && !sharedAdminTokens.has(options.store)) sharedAdminTokens.set(options.store, s.adminToken);
  return { ...s, name, client: (o = {}) => s.connect({ protocolVersion: 5, ...o }) };
}

export interface ClusterOptions extends Omit<NodeOptions, "store"> {
  /** The nodes' names, or how many (named node-a, node-b, ...). */
  nodes: number | string[];
  /**
   * The nodes on one new database (`startNodes`'s `store`) of a private PostgreSQL started for
   * them (true), or of one the test file runs already (left running by `close()`).
   */
  store?: boolean | TestPostgres;
}

/** Nodes joined through their own nats-server, and what `startCluster` started for them. */
export interface TestCluster {
  nodes: TestNode[];
  nats: TestNats;
  /** Closes the nodes (one by one, in order), then NATS, then the PostgreSQL it started, if any. */
  close(): Promise<void>;
}

/** A `TestCluster` on a shared store: its PostgreSQL and the URL of the nodes' database. */
export interface StoredCluster extends TestCluster {
  postgres: TestPostgres;
  store: string;
}

/** node-a, node-b, ... */
export function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
}

/**
 * A private nats-server (and with `store`, a new database on PostgreSQL), and Sluice nodes on
 * them (`startNodes`), for a test file's `before`; `close()` in its `after`. `nodes: 0` starts
 * only NATS and the database, for tests whose nodes are started their own way (child processes).
 * What started before a failure is closed before the error is thrown, so a failed `before`
 * leaves no process behind (but nodes `startNodes` started before one of them failed).
 */
export function startCluster(options: ClusterOptions & { store: true | TestPostgres }): Promise<StoredCluster>;
export function startCluster(options: ClusterOptions): Promise<TestCluster>;
export async function startCluster(options: ClusterOptions): Promise<TestCluster | StoredCluster> {
  const { nodes: count, store: stored, ...nodeOptions } = options;
  const names = typeof count === "number" ? nodeNames(count) : count;
  const [natsStart, postgresStart] = await Promise.allSettled([
    startNats(),
    stored === true ? startPostgres() : Promise.resolve(stored === false ? undefined : stored),
  ]);
  const nats = natsStart.status === "fulfilled" ? natsStart.value : undefined;
  const postgres = postgresStart.status === "fulfilled" ? postgresStart.value : undefined;
  const nodes: TestNode[] = [];
  const close = async (): Promise<void> => {
    for (const n of nodes) await n.close();
    await nats?.close();
    if (stored === true) await postgres?.stop();
  };
  try {
    if (natsStart.status === "rejected") throw natsStart.reason;
    if (postgresStart.status === "rejected") throw postgresStart.reason;
    const store = postgres === undefined ? undefined : await postgres.database();
    if (names.length > 0) nodes.push(...await startNodes(nats!.url, names, { ...nodeOptions, ...(store !== undefined && { store }) }));
    return postgres === undefined ? { nodes, nats: nats!, close } : { nodes, nats: nats!, postgres, store: store!, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** The admin token of each shared store, from the first node started on it. */
const sharedAdminTokens = new Map<string, string>();

export async function untilAvailable(node: TestSluice, ms = 20_000): Promise<void> {
  await until(async () => (node.server.cluster?.available ? true : undefined), ms);
}

/** Waits until every node's subscriptions (and publishes) so far reached the NATS server. */
export async function settled(nodes: TestSluice[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.server.cluster!.settled()));
}

/** Subscribes and resolves on SUBACK, with the granted codes. */
export function subscribe(client: MqttClient, filter: string | string[], options: mqtt.IClientSubscribeOptions = { qos: 0 }): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, options, (err, granted) => (err ? reject(err) : resolve((granted ?? []).map((g) => g.qos))));
  });
}

/** Publishes and resolves when MQTT.js is done with it (PUBACK / PUBCOMP for QoS 1 / 2). */
export function publish(client: MqttClient, topic: string, payload: string | Buffer, options: mqtt.IClientPublishOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish(topic, payload, options, (err) => (err ? reject(err) : resolve()));
  });
}

/** Collects every message a client receives, for later assertions. */
export function collect(client: MqttClient): { topic: string; payload: string; packet: mqtt.IPublishPacket }[] {
  const got: { topic: string; payload: string; packet: mqtt.IPublishPacket }[] = [];
  client.on("message", (topic, payload, packet) => got.push({ topic, payload: payload.toString(), packet }));
  return got;
}

/** A connected MQTT 5 client, what it receives, and whether its CONNACK said a session was present. */
export interface OpenedClient {
  client: MqttClient;
  got: ReturnType<typeof collect>;
  present: boolean;
}

/**
 * Connects to `url` once (no reconnect) and resolves at CONNACK; rejects when the connection
 * closes first (a refused CONNECT). `clients` collects it for the file's `after` to end.
 */
export function openClient(url: string, options: IClientOptions, clients: MqttClient[]): Promise<OpenedClient> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  clients.push(client);
  const got = collect(client);
  return new Promise((resolve, reject) => {
    client.once("connect", (p) => resolve({ client, got, present: p.sessionPresent }));
    client.once("error", reject);
    client.once("close", () => reject(new Error("closed before CONNACK")));
  });
}

/**
 * A node configured as a deployed one is: `SLUICE_CLUSTER` and `SLUICE_NODE_ID` from the
 * environment, through the config loader; its log lines are collected (what a password check reads).
 */
export async function startNodeFromEnv(cluster: string, nodeId: string): Promise<{ node: TestSluice; logged: () => string }> {
  let logged = "";
  const sink = new Writable({ write(chunk: Buffer, _e, done) { logged += chunk.toString(); done(); } });
  const config = loadConfig({ env: { SLUICE_CLUSTER: cluster, SLUICE_NODE_ID: nodeId } });
  const node = await startSluice({ allowAnonymous: true, cluster: { ...config.cluster, ackTimeoutMs: 5000 }, sysInterval: 0 }, undefined, { logger: pino({ level: "info" }, sink) });
  return { node, logged: () => logged };
}
