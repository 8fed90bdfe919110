import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { IPubackPacket, Packet } from "mqtt-packet";
import pg from "pg";
import { stringify } from "yaml";
import { LIVENESS_CLASS } from "../../src/cluster/liveness.js";
import type { PlanConfig } from "../../src/limits/plans.js";
import { RC } from "../../src/mqtt/reason_codes.js";
import { startCluster, startNode, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { spawnNode } from "../helpers/node_process.js";
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

  test("a node's connections count while its liveness lock is held, and stop counting the moment it is free", async () => {
    const accountId = await accountOn("five");
    // Another node's rows and its liveness lock, held by this test's session as a node would.
    const dead = new pg.Client({ connectionString: cluster.store });
    await dead.connect();
    const db = new pg.Client({ connectionString: cluster.store });
    await db.connect();
    try {
      assert.equal((await dead.query("SELECT pg_try_advisory_lock($1, hashtext('node-gone')) AS ok", [LIVENESS_CLASS])).rows[0].ok, true);
      for (let i = 0; i < 5; i++) {
        await db.query("INSERT INTO cluster_connections (account_id, client_id, device_id, origin, conn) VALUES ($1, $2, 'd', 'node-gone', 'k')", [accountId, `gone-${i}`]);
      }
      const dev = await nodes[0]!.device({ accountId });
      const refused = await connect(nodes[1]!, dev.token);
      assert.equal(refused.connack.reasonCode, RC.QUOTA_EXCEEDED);
      await refused.client.destroy();
      // The session ends: PostgreSQL frees its lock, and the node is dead from the next CONNECT on.
      await dead.end();
      const admitted = await until(async () => {
        const { client, connack } = await connect(nodes[1]!, dev.token);
        if (connack.reasonCode === 0) return client;
        await client.destroy();
        return undefined;
      }, 5000);
      await admitted.destroy();
      // A sweep deletes its rows.
      await until(async () => ((await db.query("SELECT 1 FROM cluster_connections WHERE origin = 'node-gone'")).rowCount === 0 ? true : undefined));
    } finally {
      await dead.end().catch(() => undefined);
      await db.end();
    }
  });

  test("a node that lost its liveness lock while PostgreSQL forgot its rows writes its live connections again once it has the lock back", async () => {
    const accountId = await accountOn("five");
    const a = nodes[0]!;
    const open: RawClient[] = [];
    for (let i = 0; i < 5; i++) {
      const { client, connack } = await connect(a, (await a.device({ accountId })).token);
      assert.equal(connack.reasonCode, 0);
      open.push(client);
    }
    const db = new pg.Client({ connectionString: cluster.store });
    await db.connect();
    const rowsOfA = async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM cluster_connections WHERE account_id = $1 AND origin = 'node-a'", [accountId])).rows[0]!.n;
    try {
      assert.equal(await rowsOfA(), 5);
      // Node A's lock connection ends; this session queues for the lock and gets it as it is
      // freed, before A's retry can: A stays without it until this session lets it go.
      await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sluice-live:node-a'");
      await db.query("SELECT pg_advisory_lock($1, hashtext('node-a'))", [LIVENESS_CLASS]);
      await until(async () => (!a.server.sharedSessions!.liveness.held ? true : undefined));
      // What a restart of PostgreSQL does to the unlogged table, or a sweep while A was dead.
      await db.query("DELETE FROM cluster_connections WHERE origin = 'node-a'");
      await db.query("SELECT pg_advisory_unlock($1, hashtext('node-a'))", [LIVENESS_CLASS]);
      await until(async () => ((await rowsOfA()) === 5 ? true : undefined), 10_000);
      const { client, connack } = await connect(nodes[2]!, (await a.device({ accountId })).token);
      assert.equal(connack.reasonCode, RC.QUOTA_EXCEEDED, "A's five connections count again");
      await client.destroy();
    } finally {
      await db.end();
      for (const o of open) await o.destroy();
    }
  });

  test("a node killed with kill -9 while holding an account's connections at its plan's bound: another node admits one within seconds", async (t) => {
    const accountId = await accountOn("five");
    const config = join(mkdtempSync(join(tmpdir(), "sluice-limits-")), "plans.yaml");
    writeFileSync(config, stringify({ plans: PLANS }));
    const killed = await spawnNode({ name: "node-k", nats: cluster.nats.url, store: cluster.store, args: ["--config", config] });
    try {
      const port = Number(new URL(killed.mqttUrl).port);
      const open: RawClient[] = [];
      for (let i = 0; i < 5; i++) {
        const token = (await nodes[0]!.device({ accountId })).token;
        // The new node hears of the account from PostgreSQL at its device's first CONNECT.
        open.push(await until(async () => {
          const { client, connack } = await RawClient.connect(port, { protocolVersion: 5, password: token, clientId: uid("k") });
          if (connack.reasonCode === 0) return client;
          await client.destroy();
          return undefined;
        }));
      }
      const dev = await nodes[0]!.device({ accountId });
      const refused = await connect(nodes[1]!, dev.token);
      assert.equal(refused.connack.reasonCode, RC.QUOTA_EXCEEDED, "the killed node's five count before the kill");
      await refused.client.destroy();

      await killed.kill9();
      const killedAt = Date.now();
      // Bounded well below the 10 s a heartbeat timeout took: the kill frees the lock at once.
      const admitted = await until(async () => {
        const { client, connack } = await connect(nodes[1]!, dev.token);
        if (connack.reasonCode === 0) return client;
        await client.destroy();
        return undefined;
      }, 8000);
      t.diagnostic(`admitted on node-b ${Date.now() - killedAt} ms after kill -9 of the node holding the account's 5 connections`);
      await admitted.destroy();
      for (const o of open) await o.destroy();
    } finally {
      await killed.stop();
    }
  });

  test("a node started again under its id drops the rows its killed predecessor left", async () => {
    const accountId = await accountOn("five");
    const db = new pg.Client({ connectionString: cluster.store });
    await db.connect();
    try {
      await db.query("INSERT INTO cluster_connections (account_id, client_id, device_id, origin, conn) VALUES ($1, 'left-behind', 'd', 'node-d', 'k')", [accountId]);
      const d = await startNode(cluster.nats.url, "node-d", { store: cluster.store, overrides: { plans: PLANS } });
      try {
        await until(async () => ((await db.query("SELECT 1 FROM cluster_connections WHERE origin = 'node-d'")).rowCount === 0 ? true : undefined));
      } finally {
        await d.close();
      }
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

