import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { startSluice, type TestSluice } from "./sluice.js";
import { until } from "./until.js";

/** One Sluice node of a test cluster: its own data dir, the shared NATS (and the shared store, if any). */
export interface TestNode extends TestSluice {
  name: string;
  /** An MQTT.js client on this node (anonymous, MQTT 5 unless said otherwise). */
  client(options?: IClientOptions): Promise<MqttClient>;
}

export interface NodesOptions {
  ackTimeoutMs?: number;
  /**
   * A PostgreSQL URL every node stores in (`--store`): accounts, devices and tokens are then the
   * same on every node. The nodes start all at once, as a cluster's nodes would on an empty
   * database (one of them makes the admin account; the others get its token from it).
   */
  store?: string;
}

/**
 * Starts Sluice nodes on loopback, each with its own data dir, joined through the NATS at `url`,
 * and waits until each takes clients. Without `store`, each node has its own SQLite file, so a
 * token is known only to the node that made it: anonymous clients share one namespace on every
 * node.
 */
export async function startNodes(url: string, names: string[], options: NodesOptions = {}): Promise<TestNode[]> {
  const configOf = (name: string) => ({
    allowAnonymous: true, cluster: { url, nodeId: name, ackTimeoutMs: options.ackTimeoutMs ?? 5000 }, sysInterval: 0,
    ...(options.store === undefined ? {} : { postgres: { url: options.store, poolSize: 4 } }),
  });
  const nodeOf = (name: string, s: TestSluice): TestNode => ({ ...s, name, client: (o = {}) => s.connect({ protocolVersion: 5, ...o }) });
  let nodes: TestNode[];
  if (options.store === undefined) {
    nodes = [];
    for (const name of names) nodes.push(nodeOf(name, await startSluice(configOf(name))));
  } else {
    let found: (token: string) => void = () => {};
    const adminToken = new Promise<string>((resolve, reject) => {
      found = resolve;
      setTimeout(() => reject(new Error("no node made the admin account (or the store had one already)")), 30_000).unref();
    });
    adminToken.catch(() => undefined); // every node may have its token: the timeout then rejects unheard
    nodes = await Promise.all(names.map(async (name) => {
      const s = await startSluice(configOf(name), undefined, { adminToken });
      if (s.server.adminToken !== undefined) found(s.server.adminToken);
      return nodeOf(name, s);
    }));
  }
  await Promise.all(nodes.map((n) => untilAvailable(n)));
  return nodes;
}

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
