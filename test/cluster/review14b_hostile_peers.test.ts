import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { MqttClient } from "mqtt";
import { connect as natsConnect, type NatsConnection } from "nats";
import pg from "pg";
import { HEARTBEAT_SUBJECT } from "../../src/cluster/durable_peers.js";
import { publish, startCluster, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { uid } from "../helpers/raw_mqtt.js";
import { until } from "../helpers/until.js";


// Review of the adoption-gap change (docs/cluster.md, "The adoption gap", "Hostile bus traffic"):
// a heartbeat is all a peer needs to be drained, and since the change a drain answered "no
// responders" makes every QoS 1/2 publish write its messages into cluster_orphans. The doc admits
// a forged heartbeat "makes acks wait for a drain no one answers (not waited for)"; what is
// checked here is what it did beyond that.

let cluster: StoredCluster;
let b: TestNode;
let hostile: NatsConnection;
let db: pg.Client;
const clients: MqttClient[] = [];

before(async () => {
  cluster = await startCluster({ nodes: 1, store: true, ackTimeoutMs: 2000 });
  b = cluster.nodes[0]!;
  hostile = await natsConnect({ servers: cluster.nats.url, name: "hostile" });
  db = new pg.Client({ connectionString: cluster.store });
  await db.connect();
});

after(async () => {
  for (const c of clients) c.end(true);
  await db?.end();
  await hostile?.close();
  await cluster?.close();
});

const beat = (origin: string): void => hostile.publish(HEARTBEAT_SUBJECT, Buffer.from(JSON.stringify({ v: 1, origin, durable: true })));

async function forgotten(origins: string[]): Promise<void> {
  // Peers are forgotten 60 s after their last beat; the test's own peers go the way any gone peer
  // does: a node says it took their sessions.
  for (const o of origins) hostile.publish("sluice.n.adopted", Buffer.from(JSON.stringify({ v: 1, node: o.split("/")[0] })));
  await hostile.flush();
}

// Fixed: messages are kept only for gone nodes that own stored sessions, or did when a sweep last
// looked (within a window: an adoption between the publisher's drain and its INSERT still keeps).
test("forged heartbeats of nodes that hold no session do not make each QoS 1/2 publish write rows for them", async () => {
  const fakes = Array.from({ length: 50 }, (_, i) => `fake${i}-${uid("")}/00000000`);
  for (const f of fakes) beat(f);
  await hostile.flush();
  await until(async () => (fakes.every((f) => b.server.cluster!.durablePeers().includes(f)) ? true : undefined));
  const pub = await b.client({ clientId: uid("hr-") });
  clients.push(pub);
  const topic = uid("hr/");
  for (let i = 0; i < 10; i++) await publish(pub, topic, `m${i}`, { qos: 1 });
  const rows = Number((await db.query("SELECT count(*) AS n FROM cluster_orphans WHERE topic = $1", [topic])).rows[0].n);
  // 50 fake nodes × 10 messages were written before the fix: none of them holds a session
  // anyone could take, so nothing kept for them could ever be replayed.
  assert.equal(rows, 0, `${rows} rows kept for nodes that own no session`);
  await forgotten(fakes);
});
