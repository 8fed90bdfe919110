import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IPubackPacket, Packet } from "mqtt-packet";
import pg from "pg";
import type { PlanConfig } from "../../src/limits/plans.js";
import { RC } from "../../src/mqtt/reason_codes.js";
import { startCluster, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { RawClient, uid } from "../helpers/raw_mqtt.js";
import { until } from "../helpers/until.js";

// Plan limits of one account held across three nodes on one PostgreSQL (docs/cluster.md,
// "Plan limits across nodes"): connections exactly, rates within 10 % over the window.
const RATE = 600;
const PLANS: Record<string, PlanConfig> = {
  five: { connections: 5 },
  rated: { publishesPerMinute: RATE },
};

let cluster: StoredCluster;
let nodes: TestNode[];

before(async () => {
  cluster = await startCluster({ nodes: 3, store: true, overrides: { plans: PLANS } });
  nodes = cluster.nodes;
});

after(async () => {
  await cluster?.close();
});

/** A new account on `plan`, made through node A's admin API (every node reads it from PostgreSQL, and hears of its plan). */
async function accountOn(plan: string): Promise<string> {
  const res = await fetch(`${nodes[0]!.api}/admin/account`, {
    method: "POST", headers: { authorization: nodes[0]!.adminToken, "content-type": "application/json" }, body: JSON.stringify({ name: uid("acct"), plan }),
  });
  assert.equal(res.status, 200);
  const accountId = ((await res.json()) as { result: { account_id: string } }).result.account_id;
  // The plan reaches the other nodes' limits through the control subject, a moment later.
  for (const n of nodes) await until(async () => (n.server.limits.planOf(accountId).name === plan ? true : undefined));
  return accountId;
}

function connect(node: TestNode, token: string): Promise<{ client: RawClient; connack: { reasonCode?: number } }> {
  return RawClient.connect(node.ports.mqtt, { protocolVersion: 5, password: token, clientId: uid("c") });
}

describe("connections", () => {
  test("5 connections spread over 3 nodes pass, a 6th on any node gets 0x97, closing one lets one more in", async () => {
    const accountId = await accountOn("five");
    const device = () => nodes[0]!.device({ accountId });
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const open: RawClient[] = [];
    for (const node of [a, a, b, b, c]) {
      const { client, connack } = await connect(node, (await device()).token);
      assert.equal(connack.reasonCode, 0);
      open.push(client);
    }
    for (const node of nodes) {
      const { client, connack } = await connect(node, (await device()).token);
      assert.equal(connack.reasonCode, RC.QUOTA_EXCEEDED, `a 6th connection on ${node.name}`);
      await client.destroy();
    }
    await open[2]!.disconnect(); // one on node B goes
    // Its row goes with the DISCONNECT, a moment later: a connection on node C gets in then.
    const admitted = await until(async () => {
      const { client, connack } = await connect(c, (await device()).token);
      if (connack.reasonCode === 0) return client;
      await client.destroy();
      return undefined;
    });
    open.push(admitted);
    const { client, connack } = await connect(a, (await device()).token);
    assert.equal(connack.reasonCode, RC.QUOTA_EXCEEDED);
    await client.destroy();
    for (const o of open) await o.destroy();
  });

  test("a node's connections stop counting when its liveness ends", async () => {
    const accountId = await accountOn("five");
    // Another node's rows, as a node killed with its connections open would leave them.
    const db = new pg.Client({ connectionString: cluster.store });
    await db.connect();
    try {
      await db.query("INSERT INTO cluster_nodes (origin, seen_at) VALUES ('dead/1', (extract(epoch from now()) * 1000)::bigint)");
      for (let i = 0; i < 5; i++) {
        await db.query("INSERT INTO cluster_connections (account_id, client_id, device_id, origin, conn) VALUES ($1, $2, 'd', 'dead/1', 'k')", [accountId, `gone-${i}`]);
      }
      const dev = await nodes[0]!.device({ accountId });
      const refused = await connect(nodes[1]!, dev.token);
      assert.equal(refused.connack.reasonCode, RC.QUOTA_EXCEEDED);
      await refused.client.destroy();
      // The dead node's beat is old now: its rows no longer count, and the next beat sweeps them.
      await db.query("UPDATE cluster_nodes SET seen_at = seen_at - 60000 WHERE origin = 'dead/1'");
      const { client, connack } = await connect(nodes[1]!, dev.token);
      assert.equal(connack.reasonCode, 0);
      await client.destroy();
      await until(async () => ((await db.query("SELECT 1 FROM cluster_connections WHERE origin = 'dead/1'")).rowCount === 0 ? true : undefined));
    } finally {
      await db.end();
    }
  });
});

describe("rates", () => {
  test(`${RATE} publishes a minute spread over 3 nodes admit at most 10 % more over the window`, async (t) => {
    const accountId = await accountOn("rated");
    const clients = await Promise.all(nodes.map(async (node) => (await connect(node, (await nodes[0]!.device({ accountId })).token)).client));
    const perClient = RATE; // together three times what the plan allows
    const start = Date.now();
    const counts = await Promise.all(clients.map((client) => blast(client, perClient)));
    const elapsedMs = Date.now() - start;
    const admitted = counts.reduce((n, c) => n + c.admitted, 0);
    // What the plan allows over the window: a minute's allowance, and what refills meanwhile.
    const allowed = RATE + (RATE * elapsedMs) / 60_000;
    t.diagnostic(`admitted ${admitted} of ${perClient * 3} in ${elapsedMs} ms (per node ${counts.map((c) => c.admitted).join(", ")}); allowed ${allowed.toFixed(1)}`);
    assert.ok(admitted <= allowed * 1.1, `admitted ${admitted}, more than 110 % of ${allowed.toFixed(1)}`);
    assert.ok(admitted >= RATE * 0.5, `admitted ${admitted}: the shared bucket's tokens were not used`);
    for (const c of counts) assert.equal(c.admitted + c.refused, perClient);
    for (const client of clients) await client.destroy();
  });
});

/** Publishes `count` QoS 1 messages in windows of 50, counting PUBACKs with success and with 0x97. */
async function blast(client: RawClient, count: number): Promise<{ admitted: number; refused: number }> {
  let admitted = 0;
  let refused = 0;
  for (let first = 1; first <= count; first += 50) {
    const ids: number[] = [];
    for (let id = first; id < first + 50 && id <= count; id++) {
      ids.push(id);
      client.send({ cmd: "publish", topic: "rate/t", payload: Buffer.from("x"), qos: 1, messageId: id, retain: false, dup: false } as Packet);
    }
    for (const id of ids) {
      const ack = (await client.next("puback", (p) => (p as IPubackPacket).messageId === id, 10_000)) as IPubackPacket;
      if ((ack.reasonCode ?? 0) === 0) admitted++;
      else if (ack.reasonCode === RC.QUOTA_EXCEEDED) refused++;
      else throw new Error(`PUBACK ${ack.reasonCode}`);
    }
  }
  return { admitted, refused };
}

