import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { publish, startCluster, subscribe, untilAvailable, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { uid } from "../helpers/raw_mqtt.js";
import { until } from "../helpers/until.js";

// "What PUBACK means in a cluster" (docs/cluster.md): a QoS 1 ack waits until every copy queued
// for an offline persistent session is committed. A `$share` group's copy travels apart from the
// rest (the groups connection of whichever node the bus chose, the publisher's own included), so
// the ack must wait for it too: at each PUBACK the member's copy is already in PostgreSQL.

let cluster: StoredCluster;
let db: pg.Client;

before(async () => {
  cluster = await startCluster({ nodes: 2, store: true });
  for (const n of cluster.nodes) await untilAvailable(n);
  db = new pg.Client({ connectionString: cluster.store });
  await db.connect();
});

after(async () => {
  await db?.end();
  await cluster?.close();
});

async function copies(clientId: string): Promise<number> {
  return Number((await db.query("SELECT count(*) AS n FROM session_queue_copies WHERE client_id = $1", [clientId])).rows[0].n);
}

/** A persistent `$share` member on `node`, offline, and a publisher on `publisher`: after each PUBACK its copy is stored. */
async function check(memberNode: TestNode, publisherNode: TestNode): Promise<void> {
  const clientId = uid("sm-");
  const t = uid("sd/");
  const member = await memberNode.client({ clientId, clean: false, properties: { sessionExpiryInterval: 600 } });
  await subscribe(member, `$share/g/${t}/#`, { qos: 1 });
  await new Promise<void>((r) => member.end(false, {}, () => r()));
  await until(async () => (memberNode.server.broker.sessionOf("anonymous", clientId)?.connection === undefined ? true : undefined));
  // The other node hears that this one holds persistent sessions (its acks then wait for it).
  await until(async () => (publisherNode === memberNode || publisherNode.server.cluster!.durablePeers().includes(memberNode.server.cluster!.origin) ? true : undefined));
  const pub = await publisherNode.client({ clientId: uid("sp-") });
  const late: number[] = [];
  for (let i = 1; i <= 40; i++) {
    await publish(pub, `${t}/m`, `s${i}`, { qos: 1 });
    const stored = await copies(clientId);
    if (stored < i) late.push(i);
  }
  pub.end(true);
  assert.deepEqual(late, [], "every acknowledged copy was committed before its PUBACK");
  assert.equal(await copies(clientId), 40);
}

test("a member on another node: each PUBACK comes after the member's copy is committed there", async () => {
  const [a, b] = cluster.nodes as [TestNode, TestNode];
  await check(b, a);
});

test("a member on the publishing node (the bus chooses it for the group): each PUBACK comes after its copy is committed", async () => {
  const [a] = cluster.nodes as [TestNode];
  await check(a, a);
});
