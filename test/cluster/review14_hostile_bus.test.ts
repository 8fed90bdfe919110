import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { connect as natsConnect, type NatsConnection } from "nats";
import { ANONYMOUS_NAMESPACE } from "../../src/access/broker_hooks.js";
import { encodeBatch } from "../../src/cluster/batch.js";
import { HEARTBEAT_SUBJECT, drainSubject } from "../../src/cluster/durable_peers.js";
import { encodeEnvelope } from "../../src/cluster/envelope.js";
import { RETAINED_BUCKET } from "../../src/cluster/retained_store.js";
import { releaseSubject } from "../../src/cluster/session_handoff.js";
import { connectSubject, topicSubject } from "../../src/cluster/subjects.js";
import { collect, publish, settled, startCluster, subscribe, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { uid } from "../helpers/raw_mqtt.js";
import { until } from "../helpers/until.js";

// Review of issue 14, "a malformed or foreign message on the bus is dropped and counted, never a
// crash": a hostile peer on NATS sends garbage on every subject a node listens on. The design
// trusts well-formed traffic from the bus (docs/cluster.md, "Hostile bus traffic": restrict
// `sluice.>`), so what is checked here is that nothing malformed crashes a node, corrupts a
// session or goes uncounted, and that one forged message cannot stop a node hearing another.

let cluster: StoredCluster;
let nodes: TestNode[];
let a: TestNode, b: TestNode;
let hostile: NatsConnection;
const clients: MqttClient[] = [];

before(async () => {
  cluster = await startCluster({ nodes: 2, store: true });
  nodes = cluster.nodes;
  [a, b] = nodes as [TestNode, TestNode];
  hostile = await natsConnect({ servers: cluster.nats.url, name: "hostile" });
});

after(async () => {
  for (const c of clients) c.end(true);
  await hostile?.close();
  await cluster?.close();
});

const dropped = (n: TestNode): number => Object.values(n.server.cluster!.stats.dropped).reduce((s, v) => s + v, 0);

async function end(client: MqttClient): Promise<void> {
  await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
}

/** Things that are not what a subject expects, and some that nearly are. */
function garbage(): Uint8Array[] {
  const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
  return [
    new Uint8Array(0),
    Buffer.from("not json at all"),
    Buffer.from([0xff, 0xfe, 0x00, 0x01]),
    randomBytes(64 * 1024),
    // Just under the test server's max_payload (2 MB).
    Buffer.alloc(1_900_000, 0x7b),
    Buffer.from("SL"),
    Buffer.from([0x53, 0x4c, 99, 0]), // an envelope header of version 99
    Buffer.from([0x53, 0x42, 1, 0xff, 0xff]), // a batch claiming 65 535 envelopes, holding none
    json(null), json([]), json("x"), json(42),
    json({ v: 2, ns: ANONYMOUS_NAMESPACE, id: "x" }),
    json({ v: 1, ns: { toString: 1 }, id: ["x"] }),
    json({ v: 1, ns: "__proto__", id: "constructor" }),
    json({ v: 1, origin: "x".repeat(100_000), durable: true }),
    json({ v: 1, origin: null, durable: "yes" }),
    json({ v: 1, ns: ANONYMOUS_NAMESPACE, id: "c", origin: "evil", at: -1 }),
    json({ v: 1, ns: ANONYMOUS_NAMESPACE, id: "c", origin: "evil", at: 1e300 }),
  ];
}

describe("garbage on every subject a node listens on", () => {
  test("is dropped (and counted where it is an envelope or a notice); the nodes, their sessions and routing go on", async () => {
    const clientId = uid("keep-");
    const t = uid("hb/");
    // A persistent session offline on A, and a live subscriber on B.
    const first = await a.client({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
    await subscribe(first, `${t}/#`, { qos: 1 });
    await end(first);
    await until(async () => {
      const s = a.server.broker.sessionOf(ANONYMOUS_NAMESPACE, clientId);
      return s && s.connection === undefined ? true : undefined;
    });
    const watcher = await b.client({ clientId: uid("w-") });
    clients.push(watcher);
    const seen = collect(watcher);
    await subscribe(watcher, `${t}/#`, { qos: 1 });
    await settled(nodes);

    const droppedBefore = dropped(a) + dropped(b);
    const kv = await hostile.jetstream().views.kv(RETAINED_BUCKET);
    const subjects = [
      topicSubject(ANONYMOUS_NAMESPACE, `${t}/x`)!,
      connectSubject(ANONYMOUS_NAMESPACE),
      connectSubject("another-namespace"),
      releaseSubject("node-a"), releaseSubject("node-b"),
      drainSubject(a.server.cluster!.origin), drainSubject(b.server.cluster!.origin),
      HEARTBEAT_SUBJECT,
    ];
    for (const subject of subjects) {
      for (const g of garbage()) {
        hostile.publish(subject, g);
        // Requests too (release and drain answer their asker): a reply subject nobody reads.
        hostile.publish(subject, g, { reply: `_INBOX.hostile.${uid("r")}` });
      }
    }
    for (const [i, g] of garbage().entries()) {
      if (g.length === 0 || g.length > 1_000_000) continue;
      await kv.put(`hostile${i}`, g);
    }
    // A release asked for a client id nobody holds, in a namespace that does not exist: answered, nothing dropped.
    const answer = await hostile.request(releaseSubject("node-a"), Buffer.from(JSON.stringify({ v: 1, ns: "nope", id: "nobody" })), { timeout: 5000 });
    assert.deepEqual(JSON.parse(Buffer.from(answer.data).toString()), { ok: true, held: false });
    await hostile.flush();

    // Both nodes still take clients, route across, and A kept its offline session.
    const publisher = await a.client({ clientId: uid("p-") });
    clients.push(publisher);
    await publish(publisher, `${t}/after`, "after", { qos: 1 });
    await until(async () => (seen.some((m) => m.payload === "after") ? true : undefined));
    assert.ok(a.server.cluster!.available && b.server.cluster!.available);
    assert.ok(a.server.broker.sessionOf(ANONYMOUS_NAMESPACE, clientId), "A still holds the offline session");
    await until(async () => (a.server.broker.sessionOf(ANONYMOUS_NAMESPACE, clientId)?.queue.length === 1 ? true : undefined));
    // Envelopes, notices, batches and KV entries: every one counted as dropped somewhere.
    await until(async () => (dropped(a) + dropped(b) - droppedBefore >= garbage().length ? true : undefined));

    // Release requests and heartbeats that are not one are counted too (issue 14: "dropped and counted").
    const malformedBefore = (a.server.cluster!.stats.dropped.malformed ?? 0);
    hostile.publish(releaseSubject("node-a"), Buffer.from("{"), { reply: "_INBOX.hostile.x" });
    hostile.publish(HEARTBEAT_SUBJECT, Buffer.from("{"));
    await hostile.flush();
    await until(async () => ((a.server.cluster!.stats.dropped.malformed ?? 0) - malformedBefore >= 2 ? true : undefined));

    // The session comes back whole on B, with the message queued while garbage flowed.
    const back = mqtt.connect(b.mqttUrl, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 300 }, reconnectPeriod: 0 });
    clients.push(back);
    const got = collect(back);
    await new Promise((resolve, reject) => { back.once("connect", resolve); back.once("error", reject); });
    await until(async () => (got.some((m) => m.payload === "after") ? true : undefined));
  });

  test("a heartbeat of JSON null does not make the node's bus connection deaf", async () => {
    // nats.js stops reading a connection whose subscription callback throws ("reader closed").
    const t = uid("null/");
    const sub = await a.client({ clientId: uid("s-") });
    clients.push(sub);
    const got = collect(sub);
    await subscribe(sub, `${t}/#`, { qos: 0 });
    await settled(nodes);
    hostile.publish(HEARTBEAT_SUBJECT, Buffer.from("null"));
    await hostile.flush();
    const pub = await b.client({ clientId: uid("p-") });
    clients.push(pub);
    await publish(pub, `${t}/x`, "after-null", { qos: 1 });
    await until(async () => (got.some((m) => m.payload === "after-null") ? true : undefined), 8000);
  });

  test("one forged envelope carrying a node's origin and a huge sequence does not silence that node", async () => {
    const t = uid("seq/");
    const sub = await b.client({ clientId: uid("s-") });
    clients.push(sub);
    const got = collect(sub);
    await subscribe(sub, `${t}/#`, { qos: 0 });
    await settled(nodes);
    const origin = a.server.cluster!.origin;
    const subject = topicSubject(ANONYMOUS_NAMESPACE, `${t}/forged`)!;
    const forged = encodeEnvelope(origin, 2 ** 48 - 1, ANONYMOUS_NAMESPACE, { topic: `${t}/forged`, payload: Buffer.from("forged"), qos: 0, retain: false, properties: undefined, expiresAt: undefined, publisher: undefined });
    hostile.publish(subject, encodeBatch([forged]));
    await hostile.flush();
    await until(async () => (got.some((m) => m.payload === "forged") ? true : undefined));
    // A's own later messages still reach B.
    const pub = await a.client({ clientId: uid("p-") });
    clients.push(pub);
    for (let i = 0; i < 3; i++) await publish(pub, `${t}/real`, `real-${i}`, { qos: 1 });
    await until(async () => (got.filter((m) => m.payload.startsWith("real-")).length === 3 ? true : undefined), 5000);
  });
});
