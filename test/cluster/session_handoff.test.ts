import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import pg from "pg";
import { ANONYMOUS_NAMESPACE } from "../../src/access/broker_hooks.js";
import { collect, publish, settled, startCluster, subscribe, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { uid } from "../helpers/raw_mqtt.js";
import { until } from "../helpers/until.js";

// Issue 14, "a persistent session resumes on any node with its subscriptions and its queued
// QoS 1/2 messages, including messages published while it was offline": three nodes on one
// PostgreSQL and one nats-server; a client leaves node A and comes back on node B.

let cluster: StoredCluster;
let nodes: TestNode[];
let a: TestNode, b: TestNode, c: TestNode;
let db: pg.Client;

before(async () => {
  cluster = await startCluster({ nodes: 3, store: true });
  nodes = cluster.nodes;
  [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  db = new pg.Client({ connectionString: cluster.store });
  await db.connect();
});

after(async () => {
  for (const cl of clients) cl.end(true);
  await db?.end();
  await cluster?.close();
});

const holder = (clientId: string): string[] => nodes.filter((n) => n.server.broker.sessionOf(ANONYMOUS_NAMESPACE, clientId)).map((n) => n.name);

async function ownerInStore(clientId: string): Promise<string | null | undefined> {
  const row = (await db.query<{ node: string | null }>("SELECT node FROM sessions WHERE namespace = $1 AND client_id = $2", [ANONYMOUS_NAMESPACE, clientId])).rows[0];
  return row?.node;
}

async function end(client: MqttClient): Promise<void> {
  await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
}

/**
 * Connects a client that collects from its first packet: a resumed session's messages may come
 * in the same read as the CONNACK, before a listener added after the connect would see them.
 */
async function resume(node: TestNode, options: IClientOptions): Promise<{ client: MqttClient; got: ReturnType<typeof collect>; present: boolean }> {
  const client = mqtt.connect(node.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  clients.push(client);
  const got = collect(client);
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once("connect", (p) => resolve(p));
    client.once("error", reject);
  });
  return { client, got, present: connack.sessionPresent };
}
const clients: MqttClient[] = [];

/** Waits until the session on `node` holds `n` queued messages (routing from other nodes is asynchronous). */
async function queued(node: TestNode, clientId: string, n: number): Promise<void> {
  await until(async () => (node.server.broker.sessionOf(ANONYMOUS_NAMESPACE, clientId)?.queue.length === n ? true : undefined));
}

describe("what PUBACK means for another node's offline sessions", () => {
  test("a QoS 1 publish on B is acknowledged only once A committed the copy it queued for its offline session", async () => {
    const clientId = uid("drain-");
    const t = uid("drain/");
    const first = await a.client({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    await subscribe(first, `${t}/#`, { qos: 1 });
    await end(first);
    await until(async () => ((await ownerInStore(clientId)) === "node-a" ? true : undefined));
    // B has heard A's heartbeat saying it holds offline persistent sessions.
    await until(async () => (b.server.cluster!.durablePeers().includes(a.server.cluster!.origin) ? true : undefined));
    await settled(nodes);
    const pub = await b.client();
    const copies = async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM session_queue_copies WHERE client_id = $1", [clientId])).rows[0]!.n;
    for (let i = 1; i <= 20; i++) {
      await publish(pub, `${t}/x`, `m${i}`, { qos: 1 });
      // Read right after the PUBACK, no waiting: the copy is committed already.
      assert.equal(await copies(), i, `copy ${i} stored before its PUBACK`);
    }
  });
});

describe("a persistent session moves to the node its client reconnects to", () => {
  test("MQTT 5: queued QoS 1/2 messages published on A, B and C while offline, then its subscriptions, on B", async () => {
    const clientId = uid("ho5-");
    const t = uid("ho5/");
    const first = await a.client({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    await subscribe(first, `${t}/one/#`, { qos: 1 });
    await subscribe(first, `${t}/two/+`, { qos: 2, properties: { subscriptionIdentifier: 7 } });
    await end(first);
    await until(async () => ((await ownerInStore(clientId)) === "node-a" ? true : undefined));
    await settled(nodes);

    const pubA = await a.client();
    const pubB = await b.client();
    const pubC = await c.client();
    await publish(pubA, `${t}/one/x`, "a1", { qos: 1 });
    await publish(pubB, `${t}/two/y`, "b1", { qos: 2 });
    await publish(pubC, `${t}/one/z/w`, "c1", { qos: 1 });
    await publish(pubA, `${t}/two/q`, "a2", { qos: 2 });
    await publish(pubB, `${t}/not/matching`, "never", { qos: 1 });
    await queued(a, clientId, 4);

    const { got, present } = await resume(b, { clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    assert.equal(present, true);
    await until(async () => (got.length >= 4 ? true : undefined));
    assert.deepEqual(got.map((m) => m.payload).sort(), ["a1", "a2", "b1", "c1"]);
    assert.deepEqual(got.filter((m) => m.payload === "b1" || m.payload === "a2").map((m) => [m.packet.qos, m.packet.properties?.subscriptionIdentifier]),
      [[2, 7], [2, 7]]);
    assert.deepEqual(holder(clientId), ["node-b"]);
    assert.equal(await ownerInStore(clientId), "node-b");

    // Its subscriptions came along: a message published on C now reaches it on B.
    await settled(nodes);
    await publish(pubC, `${t}/one/after`, "after", { qos: 1 });
    await until(async () => (got.some((m) => m.payload === "after") ? true : undefined));
    assert.equal(got.length, 5, "each message once");
  });

  test("MQTT 3.1.1 clean session 0: the session and its queue follow the client from A to C", async () => {
    const clientId = uid("ho4-");
    const t = uid("ho4/");
    const first = await a.client({ clientId, clean: false, protocolVersion: 4 });
    await subscribe(first, `${t}/#`, { qos: 1 });
    await end(first);
    await until(async () => ((await ownerInStore(clientId)) === "node-a" ? true : undefined));
    await settled(nodes);
    const pub = await b.client();
    for (let i = 0; i < 5; i++) await publish(pub, `${t}/m`, `m${i}`, { qos: 1 });
    await queued(a, clientId, 5);
    const { got, present } = await resume(c, { clientId, clean: false, protocolVersion: 4 });
    assert.equal(present, true);
    await until(async () => (got.length >= 5 ? true : undefined));
    assert.deepEqual(got.map((m) => m.payload), ["m0", "m1", "m2", "m3", "m4"], "in the order published");
    assert.deepEqual(holder(clientId), ["node-c"]);
  });

  test("messages published on every node throughout the handoff arrive, each once", async () => {
    const clientId = uid("race-");
    const t = uid("race/");
    const first = await a.client({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    await subscribe(first, `${t}/#`, { qos: 1 });
    await end(first);
    await until(async () => ((await ownerInStore(clientId)) === "node-a" ? true : undefined));
    await settled(nodes);
    // One publisher per node, each sending its numbered messages one after the other.
    const publishers = await Promise.all(nodes.map((n) => n.client()));
    let running = true;
    const sent = new Set<string>();
    const loops = publishers.map(async (p, i) => {
      for (let n = 0; running; n++) {
        const payload = `${i}:${n}`;
        await publish(p, `${t}/p${i}`, payload, { qos: 1 });
        sent.add(payload);
      }
    });
    await until(async () => (sent.size >= 30 ? true : undefined));
    const { got } = await resume(b, { clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    const before = sent.size;
    await until(async () => (sent.size >= before + 60 ? true : undefined));
    running = false;
    await Promise.all(loops);
    // Every acknowledged message arrives (none lost in the handoff), and none twice.
    await until(async () => ([...sent].every((p) => got.some((m) => m.payload === p)) ? true : undefined), 15_000);
    const payloads = got.map((m) => m.payload);
    assert.equal(new Set(payloads).size, payloads.length, `duplicates: ${payloads.length - new Set(payloads).size}`);
    // Each publisher's messages in the order it sent them.
    for (let i = 0; i < 3; i++) {
      const seq = payloads.filter((p) => p.startsWith(`${i}:`)).map((p) => Number(p.split(":")[1]));
      assert.deepEqual(seq, [...seq].sort((x, y) => x - y), `publisher ${i} in order`);
    }
    assert.deepEqual(holder(clientId), ["node-b"]);
  });

  test("the same client id resuming on B and C at once: one node ends up holding the session, nothing queued is lost", async () => {
    const clientId = uid("both-");
    const t = uid("both/");
    const first = await a.client({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    await subscribe(first, `${t}/#`, { qos: 1 });
    await end(first);
    await until(async () => ((await ownerInStore(clientId)) === "node-a" ? true : undefined));
    await settled(nodes);
    const pub = await c.client();
    for (let i = 0; i < 10; i++) await publish(pub, `${t}/m`, `q${i}`, { qos: 1 });
    await queued(a, clientId, 10);
    const options = { clientId, clean: false, properties: { sessionExpiryInterval: 300 } };
    // Either CONNECT may be refused (0x88) while the other moves the session: as a client would, retry.
    const resumeRetrying = async (node: TestNode) => {
      for (;;) {
        try {
          return await resume(node, options);
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const [onB, onC] = await Promise.all([resumeRetrying(b), resumeRetrying(c)]);
    // The connect notices leave one connection; the other node then holds nothing either.
    await until(async () => ((onB.client.connected ? 1 : 0) + (onC.client.connected ? 1 : 0) === 1 ? true : undefined));
    await until(async () => (holder(clientId).length === 1 ? true : undefined));
    const [kept] = holder(clientId);
    await until(async () => ((await ownerInStore(clientId)) === kept ? true : undefined));
    // Whichever connection got them, every queued message was delivered.
    const delivered = new Set([...onB.got, ...onC.got].map((m) => m.payload));
    await until(async () => {
      for (const m of [...onB.got, ...onC.got]) delivered.add(m.payload);
      return delivered.size === 10 ? true : undefined;
    });
  });

  test("a clean start on another node ends the old session everywhere", async () => {
    const clientId = uid("clean-");
    const t = uid("clean/");
    const first = await a.client({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    await subscribe(first, `${t}/#`, { qos: 1 });
    await end(first);
    await until(async () => ((await ownerInStore(clientId)) === "node-a" ? true : undefined));
    const { present } = await resume(c, { clientId, clean: true, properties: { sessionExpiryInterval: 300 } });
    assert.equal(present, false);
    assert.deepEqual(holder(clientId), ["node-c"]);
    await until(async () => ((await ownerInStore(clientId)) === "node-c" ? true : undefined));
    const subs = await db.query("SELECT filter FROM session_subscriptions WHERE namespace = $1 AND client_id = $2", [ANONYMOUS_NAMESPACE, clientId]);
    assert.equal(subs.rowCount, 0, "the old session's subscriptions are gone");
  });

  test("a connected client taken over from another node gets 0x8E and its session moves with it", async () => {
    const clientId = uid("live-");
    const t = uid("live/");
    const first = await a.client({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    await subscribe(first, `${t}/#`, { qos: 1 });
    let reason: number | undefined;
    first.on("disconnect", (p) => (reason = p.reasonCode));
    // The session's row is written by group commit after CONNACK: a CONNECT elsewhere before it
    // is committed finds no session to take (docs/cluster.md).
    await until(async () => ((await ownerInStore(clientId)) === "node-a" ? true : undefined));
    const { got, present } = await resume(b, { clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    assert.equal(present, true);
    await until(async () => (reason !== undefined ? true : undefined));
    assert.equal(reason, 0x8e);
    await settled(nodes);
    const pub = await c.client();
    await publish(pub, `${t}/x`, "moved", { qos: 1 });
    await until(async () => (got.length === 1 ? true : undefined));
    assert.deepEqual(holder(clientId), ["node-b"]);
  });
});
