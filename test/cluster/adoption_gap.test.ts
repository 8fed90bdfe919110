import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { IClientOptions, MqttClient } from "mqtt";
import pg from "pg";
import { type OpenedClient, type StoredCluster, type TestNode, openClient, publish, startCluster, startNode, subscribe, untilAvailable } from "../helpers/cluster.js";
import { spawnNode, type NodeProcess } from "../helpers/node_process.js";
import { uid } from "../helpers/raw_mqtt.js";
import { until } from "../helpers/until.js";

// Issue 14: "a persistent session resumes on any node with its queued QoS 1/2 messages, including
// messages published ... when the node it was on was killed". Between the kill and another node
// adopting the sessions, nobody listens for them on the bus; what is acknowledged meanwhile must
// still reach them (docs/cluster.md, "The adoption gap").

let cluster: StoredCluster;
let nats: StoredCluster["nats"];
let store: string;
let b: TestNode;
const clients: MqttClient[] = [];
const holders: NodeProcess[] = [];

before(async () => {
  // NATS and the database only: the holders run as child processes, to be killed.
  cluster = await startCluster({ nodes: 0, store: true });
  ({ nats, store } = cluster);
  const holder = await spawnNode({ name: "gap-holder", nats: nats.url, store });
  holders.push(holder);
  // A slow adoption sweep makes the gap long enough to publish many messages into it.
  b = await startNode(nats.url, "gap-b", { store, adminToken: holder.adminToken(), cluster: { adoptIntervalMs: 2500 } });
  await untilAvailable(b);
});

after(async () => {
  for (const c of clients) c.end(true);
  for (const h of holders) {
    await h.kill9().catch(() => undefined);
    await h.stop().catch(() => undefined);
  }
  await b?.close();
  await cluster?.close();
});

function open(url: string, options: IClientOptions): Promise<OpenedClient> {
  return openClient(url, options, clients);
}

/**
 * A publisher that survives a refused ack: a node may close the connection without a PUBACK (a
 * drain request in flight to the node just killed is never answered: 0x89 after ackTimeoutMs),
 * and MQTT.js then never settles the publish. Such a message counts as not acknowledged (`refused`:
 * it may arrive, or not), and the next goes out on a new connection.
 */
async function publisher(url: string): Promise<{ send(topic: string, payload: string): Promise<boolean>; refused: Set<string> }> {
  let client = (await open(url, { clientId: uid("gp-") })).client;
  const refused = new Set<string>();
  return {
    refused,
    async send(topic, payload) {
      const closed = new Promise<false>((resolve) => client.once("close", () => resolve(false)));
      const acked = await Promise.race([publish(client, topic, payload, { qos: 1 }).then(() => true), closed]);
      if (acked) return true;
      refused.add(payload);
      client.end(true);
      client = (await open(url, { clientId: uid("gp-") })).client;
      return false;
    },
  };
}

test("messages acknowledged between a holder's kill -9 and the adoption of its sessions reach those sessions, each once", async () => {
  const holder = holders[0]!;
  const clientId = uid("gap-");
  const t = uid("gap/");
  const options = { clientId, clean: false, properties: { sessionExpiryInterval: 600 } };
  // A persistent subscriber connected on the holder, and a copy stored by it before the kill.
  const sub = await open(holder.mqttUrl, options);
  await subscribe(sub.client, `${t}/#`, { qos: 1 });
  const pub = await open(b.mqttUrl, { clientId: uid("gp-") });
  await until(async () => (b.server.cluster!.durablePeers().some((o) => o.startsWith("gap-holder/")) ? true : undefined));
  await publish(pub.client, `${t}/m`, "before", { qos: 1 });
  await until(async () => (sub.got.some((m) => m.payload === "before") ? true : undefined));

  const adoptedBefore = b.server.sharedSessions!.handoff.stats.adopted;
  await holder.kill9();
  // Publish, each acknowledged, from the kill until well after the sessions were adopted.
  const acked: string[] = [];
  // At most GAP into the gap (the session's queue holds 1000 by default), then 20 after the adoption.
  const GAP = 300;
  const adopted = () => b.server.sharedSessions!.handoff.stats.adopted > adoptedBefore;
  const sender = await publisher(b.mqttUrl);
  for (let i = 0; i < GAP && !adopted(); i++) if (await sender.send(`${t}/m`, `g${i}`)) acked.push(`g${i}`);
  const adoptedAt = acked.length;
  await until(async () => (adopted() ? true : undefined), 10_000);
  for (let i = 0; i < 20; i++) if (await sender.send(`${t}/m`, `a${i}`)) acked.push(`a${i}`);
  const stats = b.server.sharedSessions!.replay.stats;
  console.log(`adoption gap: ${adoptedAt} of ${acked.length} acknowledged before the adoption; kept ${stats.kept}, replayed ${stats.replayed}, duplicates ${stats.duplicates}, late ${stats.late}`);
  assert.ok(adoptedAt > 1, "messages were published into the gap");

  const resumed = await open(b.mqttUrl, options);
  assert.equal(resumed.present, true);
  const missing = () => acked.filter((p) => !resumed.got.some((m) => m.payload === p));
  await until(async () => (missing().length === 0 ? true : undefined), 15_000).catch(() => undefined);
  assert.deepEqual(missing(), [], "every acknowledged message reached the session");
  // Replayed after newer ones may be: the gap's messages come once the adopter reads them.
  while (!(await sender.send(`${t}/m`, "marker")));
  await until(async () => (resumed.got.some((m) => m.payload === "marker") ? true : undefined), 10_000);
  const payloads = resumed.got.map((m) => m.payload).filter((p) => p !== "marker" && p !== "before" && !sender.refused.has(p));
  assert.equal(payloads.length, acked.length, "each once");
  assert.ok(stats.kept > 0 && stats.replayed > 0);
});

test("the node restarted on its id before anyone adopts: its own sessions get what was kept while it was down", async () => {
  const clientId = uid("gr-");
  const t = uid("gr/");
  const options = { clientId, clean: false, properties: { sessionExpiryInterval: 600 } };
  const holder = await spawnNode({ name: "gap-again", nats: nats.url, store });
  holders.push(holder);
  const sub = await open(holder.mqttUrl, options);
  await subscribe(sub.client, `${t}/#`, { qos: 1 });
  await new Promise<void>((r) => sub.client.end(false, {}, () => r()));
  const pub = await open(b.mqttUrl, { clientId: uid("grp-") });
  // Its subscription and its going offline are committed (group commit) before the kill.
  const db = new pg.Client({ connectionString: store });
  await db.connect();
  await until(async () => ((await db.query("SELECT 1 FROM sessions s JOIN session_subscriptions x USING (namespace, client_id) WHERE s.client_id = $1 AND s.disconnected_at IS NOT NULL", [clientId])).rowCount === 1 ? true : undefined));
  await db.end();
  await until(async () => (b.server.cluster!.durablePeers().some((o) => o.startsWith("gap-again/")) ? true : undefined));
  await holder.kill9();
  const acked: string[] = [];
  const sender = await publisher(b.mqttUrl);
  for (let i = 0; i < 10; i++) if (await sender.send(`${t}/m`, `r${i}`)) acked.push(`r${i}`);
  // Back on its data dir and node id, it loads its sessions itself (B's sweep has not run yet,
  // or found the node alive again).
  const again = await spawnNode({ name: "gap-again", nats: nats.url, store, dataDir: holder.dataDir });
  holders.push(again);
  const resumed = await open(again.mqttUrl, options);
  assert.equal(resumed.present, true);
  while (!(await sender.send(`${t}/m`, "marker")));
  await until(async () => (acked.every((p) => resumed.got.some((m) => m.payload === p)) && resumed.got.some((m) => m.payload === "marker") ? true : undefined), 10_000).catch(() => undefined);
  const payloads = resumed.got.map((m) => m.payload).filter((p) => p !== "marker" && !sender.refused.has(p));
  assert.deepEqual(acked.filter((p) => !payloads.includes(p)), [], "every acknowledged message reached the session");
  assert.equal(payloads.length, acked.length, "each once");
});

test("a frozen node (SIGSTOP) holding persistent sessions does not hold up acks past a few heartbeats, and its sessions get the messages when it thaws", async () => {
  const clientId = uid("gf-");
  const t = uid("gf/");
  const options = { clientId, clean: false, properties: { sessionExpiryInterval: 600 } };
  const frozen = await spawnNode({ name: "gap-frozen", nats: nats.url, store });
  holders.push(frozen);
  const sub = await open(frozen.mqttUrl, options);
  await subscribe(sub.client, `${t}/#`, { qos: 1 });
  await new Promise<void>((r) => sub.client.end(false, {}, () => r()));
  const pub = await open(b.mqttUrl, { clientId: uid("gfp-") });
  await until(async () => (b.server.cluster!.durablePeers().some((o) => o.startsWith("gap-frozen/")) ? true : undefined));
  process.kill(frozen.pid, "SIGSTOP");
  try {
    // Three heartbeats without it, and its drains are no longer waited for.
    await until(async () => (b.server.cluster!.durablePeers().some((o) => o.startsWith("gap-frozen/")) ? undefined : true), 10_000);
    const acked: string[] = [];
    const sender = await publisher(b.mqttUrl);
    for (let i = 0; i < 10; i++) if (await sender.send(`${t}/m`, `f${i}`)) acked.push(`f${i}`);
    process.kill(frozen.pid, "SIGCONT");
    const resumed = await open(frozen.mqttUrl, options);
    assert.equal(resumed.present, true);
    await until(async () => (acked.every((p) => resumed.got.some((m) => m.payload === p)) ? true : undefined), 10_000).catch(() => undefined);
    assert.deepEqual(acked.filter((p) => !resumed.got.some((m) => m.payload === p)), [], "every acknowledged message reached the session");
  } finally {
    process.kill(frozen.pid, "SIGCONT");
  }
});
