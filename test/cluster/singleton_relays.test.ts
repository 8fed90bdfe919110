import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { connect as natsConnect, type NatsConnection } from "nats";
import pg from "pg";
import { pino } from "pino";
import { RELAY_DOWNLINK_SUBJECT, RelayDownlinkBus, decodeDownlink, type DownlinkDropReason } from "../../src/cluster/relay_downlink.js";
import { PgLeases } from "../../src/cluster/singleton.js";
import { bindSingletons } from "../../src/cluster/singleton_work.js";
import { Inspector } from "../../src/inspector/inspector.js";
import { OutboundGuard } from "../../src/outbound/guard.js";
import { RelayService } from "../../src/relay/relay_service.js";
import { RelaySecrets } from "../../src/relay/secrets.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import { SqliteRelayRepository } from "../../src/store/sqlite/relays.js";
import { startMosquitto, type TestMosquitto } from "../helpers/mosquitto.js";
import { startNats, type TestNats } from "../helpers/nats_server.js";
import { startPostgres, type TestPostgres } from "../helpers/postgres.js";
import { until } from "../helpers/until.js";

// The relays' lease with the real parts around it: three relay services (three nodes' worth,
// each with its own store holding the same relay) on one PostgreSQL for the lease, one NATS for
// forwarded downlinks, one Mosquitto as the external broker. Exactly one connects; a downlink
// raised on another node reaches Mosquitto through it; when the holder loses its PostgreSQL
// session its relay stops at once and another node's connects. (The whole-process version,
// with kill -9, is in singleton_nodes.test.ts.)

const ACCOUNT = "acct-relay-lease";
const DEVICE = "dev-relay-lease";
const logger = pino({ level: "silent" });
const key = Buffer.alloc(32, 7);

interface RelayNode {
  name: string;
  relays: RelayService;
  leases: PgLeases;
  bus: RelayDownlinkBus;
  nc: NatsConnection;
  store: SqliteStore;
  dir: string;
  uplinks: string[];
  drops: DownlinkDropReason[];
  /** Whether the relay was connected when the node was told it lost the lease. */
  connectedAtLoss: boolean[];
}

let postgres: TestPostgres;
let nats: TestNats;
let mosq: TestMosquitto;
let url: string;
let db: pg.Client;
const nodes: RelayNode[] = [];
const externals: MqttClient[] = [];

async function relayNode(name: string): Promise<RelayNode> {
  const dir = mkdtempSync(join(tmpdir(), `sluice-relay-lease-${name}-`));
  const store = new SqliteStore(dir);
  const now = Date.now();
  store.db.prepare("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)").run(ACCOUNT, "relay lease", now);
  store.db.prepare("INSERT INTO devices (id, account_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)").run(DEVICE, ACCOUNT, "relayed", now, now);
  const uplinks: string[] = [];
  const relays = new RelayService({
    repo: new SqliteRelayRepository(store.db),
    secrets: RelaySecrets.fromKey(key),
    async ingest(_device, _topic, payload) {
      uplinks.push(payload.toString());
    },
    route: () => undefined,
    device: async (accountId, id) => ({ id, accountId, name: "relayed", active: true, tags: [], extra: {}, createdAt: new Date(now), updatedAt: new Date(now) }),
    inspector: new Inspector(),
    logger,
    guard: new OutboundGuard({ allowPrivateTargets: true }),
    connects: false,
  });
  await relays.create(ACCOUNT, {
    name: "lease", host: "127.0.0.1", port: mosq.port, username: mosq.user, password: mosq.password, reconnect_min_ms: 200, reconnect_max_ms: 1000,
    subscriptions: [{ topic: "rl/up", qos: 1 }], mapping: { source: "fixed", device: DEVICE }, downlink_topic: "rl/down", forward_to_broker: false,
  });
  const nc = await natsConnect({ servers: nats.url, name: `relay-lease ${name}` });
  const drops: DownlinkDropReason[] = [];
  const bus = new RelayDownlinkBus({ connection: () => nc, timeoutMs: 2000, logger, dropped: (r) => drops.push(r) });
  const leases = new PgLeases({ url, nodeId: name, retryMs: 200, timeoutMs: 3000, logger, kinds: ["relays"] });
  const node: RelayNode = { name, relays, leases, bus, nc, store, dir, uplinks, drops, connectedAtLoss: [] };
  // Listeners are told in order, synchronously: this one, after the wiring's, sees what a loss
  // left running by the time anything else on the node hears of it.
  bindSingletons(leases, { relays, downlinks: bus.serving(relays), logger });
  leases.onChange((_kind, held) => {
    if (!held) node.connectedAtLoss.push(relays.list(ACCOUNT)[0]!.status.connected);
  });
  relays.start();
  leases.start();
  return node;
}

before(async () => {
  [postgres, nats, mosq] = await Promise.all([startPostgres(), startNats(), startMosquitto()]);
  url = await postgres.database();
  db = new pg.Client({ connectionString: url });
  await db.connect();
  for (const name of ["r1", "r2", "r3"]) nodes.push(await relayNode(name));
});

after(async () => {
  for (const c of externals) c.end(true);
  for (const n of nodes) {
    await n.leases.stop();
    await n.relays.stop();
    await n.nc.close();
    await n.store.close();
    rmSync(n.dir, { recursive: true, force: true });
  }
  await db?.end();
  await mosq?.close();
  await nats?.close();
  await postgres?.stop();
});

const connected = (n: RelayNode) => n.relays.list(ACCOUNT)[0]!.status.connected;

/** Polls until exactly one node's relay is connected; that node. */
async function theConnected(among = nodes): Promise<RelayNode> {
  return until(async () => {
    const up = among.filter(connected);
    return up.length === 1 ? up[0] : undefined;
  }, 20_000);
}

async function watcher(topic: string): Promise<string[]> {
  const client = await mqtt.connectAsync({ host: "127.0.0.1", port: mosq.port, username: mosq.user, password: mosq.password, reconnectPeriod: 0 });
  externals.push(client);
  const got: string[] = [];
  client.on("message", (t, p) => {
    if (t === topic) got.push(p.toString());
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return got;
}

/** Five numbered uplinks then a last one: each numbered one taken exactly once, by all nodes together. */
async function uplinkOnce(tag: string): Promise<void> {
  for (let i = 0; i < 5; i++) mosq.pub("rl/up", `${tag}${i}`, { qos: 1 });
  mosq.pub("rl/up", `${tag}-end`, { qos: 1 });
  const all = () => nodes.flatMap((n) => n.uplinks).filter((p) => p.startsWith(tag));
  await until(async () => (all().includes(`${tag}-end`) ? true : undefined), 10_000);
  const numbered = all().filter((p) => !p.endsWith("-end"));
  assert.deepEqual(numbered.sort(), [0, 1, 2, 3, 4].map((i) => `${tag}${i}`));
}

describe("relays under the lease", () => {
  let down: string[];

  test("exactly one node connects its relay; each uplink is taken once", async () => {
    const holder = await theConnected();
    assert.equal(holder.leases.held("relays"), true);
    for (const n of nodes) if (n !== holder) assert.equal(n.relays.list(ACCOUNT)[0]!.status.state, "stopped");
    await uplinkOnce("a");
  });

  test("a downlink raised on a node not running the relays goes out through the one that does", async () => {
    down = await watcher("rl/down");
    const holder = await theConnected();
    const other = nodes.find((n) => n !== holder)!;
    const taken = await until(async () => {
      const n = await other.bus.forward({ accountId: ACCOUNT, deviceId: DEVICE, topic: "cmd", payload: Buffer.from("on"), qos: 1, retain: false });
      return n > 0 ? n : undefined;
    });
    assert.equal(taken, 1);
    await until(async () => (down.includes("on") ? true : undefined), 10_000);
  });

  test("the holder loses its PostgreSQL session: its relay stops at once, another node's connects, uplink and downlink go on", async () => {
    const holder = await theConnected();
    const pid = (await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [`sluice-lease:${holder.name}`])).rows[0]!.pid;
    await db.query("SELECT pg_terminate_backend($1)", [pid]);
    await until(async () => (holder.connectedAtLoss.length > 0 ? true : undefined), 10_000);
    // Told of the loss, the relay was already stopped (standby runs first, synchronously).
    assert.deepEqual(holder.connectedAtLoss, [false]);
    // Its node gone for good (it would otherwise try again, and may win the lock back).
    await holder.leases.stop();
    assert.ok(holder.connectedAtLoss.every((c) => !c));
    const next = await theConnected();
    assert.notEqual(next, holder);
    assert.equal(next.leases.held("relays"), true);
    await uplinkOnce("b");
    const other = nodes.find((n) => n !== next)!;
    await until(async () => ((await other.bus.forward({ accountId: ACCOUNT, deviceId: DEVICE, topic: "cmd", payload: Buffer.from("off"), qos: 1, retain: false })) > 0 ? true : undefined));
    await until(async () => (down.includes("off") ? true : undefined), 10_000);
  });

  test("garbage on the downlink subject is dropped and counted; the relay node goes on", async () => {
    const holder = await theConnected();
    const client = nodes.find((n) => n !== holder)!.nc;
    for (const bad of ["not json", "[]", JSON.stringify({ v: 2 }), JSON.stringify({ v: 1, account: ACCOUNT, device: DEVICE, topic: "a/+", payload: "", qos: 0, retain: false })]) {
      client.publish(RELAY_DOWNLINK_SUBJECT, new TextEncoder().encode(bad));
    }
    await client.flush();
    await until(async () => (holder.drops.length >= 4 ? true : undefined));
    assert.deepEqual(holder.drops.slice(-4), ["malformed", "malformed", "version", "malformed"]);
    assert.equal(connected(holder), true);
  });
});

test("decodeDownlink checks every field", () => {
  const good = { v: 1, account: "a", device: "d", topic: "t/1", payload: Buffer.from("x").toString("base64"), qos: 1, retain: false };
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const ok = decodeDownlink(enc(good));
  assert.ok(typeof ok !== "string");
  assert.equal(ok.payload.toString(), "x");
  assert.equal(decodeDownlink(enc({ ...good, qos: 3 })), "malformed");
  assert.equal(decodeDownlink(enc({ ...good, retain: "no" })), "malformed");
  assert.equal(decodeDownlink(enc({ ...good, account: "" })), "malformed");
  assert.equal(decodeDownlink(enc({ ...good, payload: "not base64!" })), "malformed");
  assert.equal(decodeDownlink(new Uint8Array([0xff, 0xfe])), "malformed");
});
