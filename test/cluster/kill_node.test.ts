import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import pg from "pg";
import { ANONYMOUS_NAMESPACE } from "../../src/access/broker_hooks.js";
import { collect, publish, startCluster, startNode, untilAvailable, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import type { TestNats } from "../helpers/nats_server.js";
import { spawnNode, type NodeProcess } from "../helpers/node_process.js";
import { metricValue, uid } from "../helpers/raw_mqtt.js";
import { until } from "../helpers/until.js";

// Issue 14: "a persistent session resumes on any node ... when the node it was on was killed" and
// "acknowledged still means stored: killing a node with kill -9 loses no PUBACKed record". Nodes
// that get killed run as `sluice start` child processes; two more (B, C) run in this process.
// All share one PostgreSQL and one nats-server.

let cluster: StoredCluster;
let store: string;
let nats: TestNats;
let first: NodeProcess;
let b: TestNode, c: TestNode;
let db: pg.Client;
const children: NodeProcess[] = [];
const clients: MqttClient[] = [];

before(async () => {
  // NATS and the database only: the nodes start below, the first one as a child process.
  cluster = await startCluster({ nodes: 0, store: true });
  ({ nats, store } = cluster);
  // The first node on the store makes the admin account and writes its token file.
  first = await spawnNode({ name: "n1", nats: nats.url, store });
  children.push(first);
  const adminToken = first.adminToken();
  b = await startNode(nats.url, "node-b", { store, adminToken });
  c = await startNode(nats.url, "node-c", { store, adminToken });
  await Promise.all([untilAvailable(b), untilAvailable(c)]);
  db = new pg.Client({ connectionString: store });
  await db.connect();
});

after(async () => {
  for (const cl of clients) cl.end(true);
  await db?.end();
  for (const n of children) await n.kill9();
  for (const n of children) await n.stop();
  await b?.close();
  await c?.close();
  await cluster?.close();
});

/** An MQTT.js client collecting from its first packet; resolves with the CONNACK. */
async function connect(url: string, options: IClientOptions): Promise<{ client: MqttClient; got: ReturnType<typeof collect>; present: boolean }> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  clients.push(client);
  const got = collect(client);
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once("connect", (p) => resolve(p));
    client.once("error", reject);
  });
  return { client, got, present: connack.sessionPresent };
}

async function queuedInStore(clientId: string): Promise<number> {
  return (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM session_queue_copies WHERE namespace = $1 AND client_id = $2", [ANONYMOUS_NAMESPACE, clientId])).rows[0]!.n;
}

async function ownerInStore(clientId: string): Promise<string | null | undefined> {
  return (await db.query<{ node: string | null }>("SELECT node FROM sessions WHERE namespace = $1 AND client_id = $2", [ANONYMOUS_NAMESPACE, clientId])).rows[0]?.node;
}

describe("a node killed with kill -9", () => {
  test("its offline persistent sessions are taken over by a live node, and resume on any node with everything queued before and after", async (t) => {
    const node = first;
    const clientId = uid("dead-");
    const topic = uid("dead/");
    const { client: away } = await connect(node.mqttUrl, { clientId, clean: false, properties: { sessionExpiryInterval: 600 } });
    await away.subscribeAsync(`${topic}/#`, { qos: 1 });
    await new Promise<void>((r) => away.end(false, {}, () => r()));
    await until(async () => ((await ownerInStore(clientId)) === "n1" ? true : undefined));
    const { client: pub } = await connect(b.mqttUrl, {});
    // The node's interest reaches NATS a round trip after its SUBACK: probe until a copy lands.
    let probes = 0;
    await until(async () => {
      await publish(pub, `${topic}/probe`, `probe${probes++}`, { qos: 1 });
      return (await queuedInStore(clientId)) > 0 ? true : undefined;
    });
    await until(async () => ((await queuedInStore(clientId)) === probes ? true : undefined));
    for (let i = 1; i <= 5; i++) await publish(pub, `${topic}/m`, `before${i}`, { qos: 1 });
    await until(async () => ((await queuedInStore(clientId)) === probes + 5 ? true : undefined));

    await node.kill9();
    const killedAt = Date.now();
    const holders = () => [b, c].filter((n) => n.server.broker.sessionOf(ANONYMOUS_NAMESPACE, clientId));
    await until(async () => (holders().length === 1 ? true : undefined), 30_000);
    const gap = Date.now() - killedAt;
    const adopter = holders()[0]!;
    t.diagnostic(`adoption gap: ${gap} ms from kill -9 to the session live on ${adopter.name}`);
    assert.equal(await ownerInStore(clientId), adopter.name);
    assert.ok((await metricValue(adopter.ports.http, 'sluice_cluster_sessions_moved_total{how="adopted"}')) >= 1);

    // Published after the adoption, on the node that did not adopt: queued by the adopter.
    const other = adopter === b ? c : b;
    const { client: pubOther } = await connect(other.mqttUrl, {});
    for (let i = 1; i <= 3; i++) await publish(pubOther, `${topic}/m`, `after${i}`, { qos: 1 });
    await until(async () => (adopter.server.broker.sessionOf(ANONYMOUS_NAMESPACE, clientId)!.queue.length === probes + 8 ? true : undefined));

    // The client comes back on the other node: the session moves again, whole.
    const { got, present } = await connect(other.mqttUrl, { clientId, clean: false, properties: { sessionExpiryInterval: 600 } });
    assert.equal(present, true);
    await until(async () => (got.length >= probes + 8 ? true : undefined));
    assert.deepEqual(got.map((m) => m.payload).filter((p) => !p.startsWith("probe")),
      ["before1", "before2", "before3", "before4", "before5", "after1", "after2", "after3"]);
    assert.equal(got.length, probes + 8, "each message once");
  });

  test("during QoS 1 ingest: every record whose PUBACK the client got is in data_records", async (t) => {
    // The device and its insert action exist before the node starts (each node reads actions at start).
    const resources = { headers: { authorization: b.adminToken, "content-type": "application/json" } };
    const made = await (await fetch(`${b.api}/device`, { method: "POST", ...resources, body: JSON.stringify({ name: uid("ingest-") }) })).json() as { result: { device_id: string; token: string } };
    const deviceId = made.result.device_id;
    const token = made.result.token;
    const action = await fetch(`${b.api}/action`, {
      method: "POST", ...resources,
      body: JSON.stringify({ name: "store ingest", type: "mqtt_topic", trigger: [{ device: deviceId, topic: "ingest/+" }], action: { type: "insert_bucket" } }),
    });
    assert.equal(action.status, 200, await action.clone().text());
    const node = await spawnNode({ name: "n2", nats: nats.url, store });
    children.push(node);

    const { client } = await connect(node.mqttUrl, { username: "Token", password: token, clean: true });
    const acked = new Set<number>();
    let next = 0;
    let inflight = 0;
    let closed = false;
    client.on("close", () => (closed = true));
    // As fast as it can: up to 64 records in flight, each PUBACK freeing a slot.
    const pump = () => {
      while (!closed && inflight < 64) {
        const seq = next++;
        inflight++;
        client.publish("ingest/x", JSON.stringify({ variable: "seq", value: seq }), { qos: 1 }, (err) => {
          inflight--;
          if (!err) acked.add(seq);
          if (!closed) pump();
        });
      }
    };
    pump();
    await until(async () => (acked.size >= 500 ? true : undefined), 60_000);
    await node.kill9();
    await until(async () => (closed ? true : undefined));
    const ackedAtKill = [...acked];
    const stored = new Set((await db.query<{ num: number }>("SELECT num FROM data_records WHERE variable = 'seq'")).rows.map((r) => r.num));
    const lost = ackedAtKill.filter((s) => !stored.has(s));
    t.diagnostic(`acknowledged ${ackedAtKill.length}, stored ${stored.size}, sent ${next}`);
    assert.deepEqual(lost, [], "every acknowledged record is stored");
    assert.ok(ackedAtKill.length >= 500);

    // The node starts again under its id: PostgreSQL let its liveness lock go with its connection.
    const again = await spawnNode({ name: "n2", nats: nats.url, store, dataDir: node.dataDir });
    children.push(again);
  });
});

describe("a restart of nats-server", () => {
  test("CONNACK 0x88 while it is down, nothing acknowledged lost, routing back on its own", async (t) => {
    const resources = { headers: { authorization: b.adminToken, "content-type": "application/json" } };
    const made = await (await fetch(`${b.api}/device`, { method: "POST", ...resources, body: JSON.stringify({ name: uid("natsr-") }) })).json() as { result: { device_id: string; token: string } };
    const token = made.result.token;
    const action = await fetch(`${b.api}/action`, {
      method: "POST", ...resources,
      body: JSON.stringify({ name: "store natsr", type: "mqtt_topic", trigger: [{ device: made.result.device_id, topic: "natsr/+" }], action: { type: "insert_bucket" } }),
    });
    assert.equal(action.status, 200);
    const acked: number[] = [];
    let next = 0;
    let stop = false;
    // One record after the other; a lost connection is made again (refused while NATS is down).
    const loop = (async () => {
      while (!stop) {
        let client: MqttClient;
        try {
          client = (await connect(b.mqttUrl, { username: "Token", password: token, clean: true })).client;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        // MQTT.js keeps an unacknowledged QoS 1 message for a reconnection that never comes here.
        const closed = new Promise<never>((_, reject) => client.once("close", () => reject(new Error("closed"))));
        closed.catch(() => undefined);
        try {
          while (!stop) {
            const seq = next++;
            await Promise.race([publish(client, "natsr/x", JSON.stringify({ variable: "natsr", value: seq }), { qos: 1 }), closed]);
            acked.push(seq);
          }
        } catch {
          // Disconnected unacknowledged (0x89) or closed: that record was not acknowledged.
        }
        client.end(true);
      }
    })();
    await until(async () => (acked.length >= 50 ? true : undefined));
    await nats.stop();
    const refused = await until(async () => {
      const probe = mqtt.connect(c.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
      const code = await new Promise<number | undefined>((resolve) => {
        probe.once("connect", () => resolve(0));
        probe.once("error", (err) => resolve((err as { code?: number }).code));
        probe.once("close", () => resolve(undefined));
      });
      probe.end(true);
      return code === 0x88 ? code : undefined;
    });
    assert.equal(refused, 0x88);
    const ackedWhileDown = acked.length;
    await nats.start();
    await Promise.all([untilAvailable(b, 30_000), untilAvailable(c, 30_000)]);
    await until(async () => (acked.length >= ackedWhileDown + 50 ? true : undefined), 30_000);
    stop = true;
    await loop;

    // Routing is back: a subscriber on C gets what is published on B.
    const topic = uid("natsr-route/");
    const { client: sub, got } = await connect(c.mqttUrl, {});
    await sub.subscribeAsync(`${topic}/#`, { qos: 1 });
    const { client: pub } = await connect(b.mqttUrl, {});
    await until(async () => {
      await publish(pub, `${topic}/x`, "back", { qos: 1 });
      return got.length > 0 ? true : undefined;
    });

    const stored = new Set((await db.query<{ num: number }>("SELECT num FROM data_records WHERE variable = 'natsr'")).rows.map((r) => r.num));
    const lost = acked.filter((s) => !stored.has(s));
    t.diagnostic(`acknowledged ${acked.length} (${ackedWhileDown} before NATS stopped or while it was down), stored ${stored.size}`);
    assert.deepEqual(lost, [], "every acknowledged record is stored");
  });
});
