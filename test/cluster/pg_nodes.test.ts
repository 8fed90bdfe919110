import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { IdentityService } from "../../src/identity/service.js";
import { PgStore } from "../../src/store/postgres/index.js";
import { collect, publish, settled, startCluster, subscribe, type StoredCluster, type TestNode } from "../helpers/cluster.js";
import { until } from "../helpers/until.js";

// Issue 14: three nodes started at once on one empty PostgreSQL database and one NATS. Exactly
// one of them makes the admin account; a device made through one node is known to every node.

let cluster: StoredCluster;
let nodes: TestNode[] = [];

before(async () => {
  cluster = await startCluster({ nodes: 3, store: true });
  nodes = cluster.nodes;
});
after(async () => {
  await cluster?.close();
});

test("three nodes starting at once on an empty database make exactly one admin account", async () => {
  const db = new pg.Client({ connectionString: cluster.store });
  await db.connect();
  try {
    const admins = (await db.query<{ id: string }>("SELECT id FROM accounts WHERE admin")).rows;
    assert.equal(admins.length, 1);
    assert.equal((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM accounts")).rows[0]!.n, 1);
    assert.equal((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM account_tokens")).rows[0]!.n, 1);
  } finally {
    await db.end();
  }
  assert.equal(nodes.filter((n) => n.server.adminToken !== undefined).length, 1, "one node made it and wrote its token file");
  // Every node accepts that one token.
  for (const n of nodes) {
    const res = await fetch(`${n.api}/account`, { headers: { authorization: n.adminToken } });
    assert.equal(res.status, 200, n.name);
  }
});

test("a device made through one node connects on another and its messages cross the nodes", async () => {
  const [a, , c] = nodes as [TestNode, TestNode, TestNode];
  const device = await a.device();
  const sub = await c.connect({ protocolVersion: 5, username: "d", password: device.token });
  await subscribe(sub, "t/#", { qos: 1 });
  await settled(nodes);
  const got = collect(sub);
  const pub = await a.connect({ protocolVersion: 5, username: "d", password: device.token, clientId: "pub-a" });
  await publish(pub, "t/1", "across", { qos: 1 });
  await until(async () => (got.some((m) => m.payload === "across") ? true : undefined));
});

test("bootstrapAdmin from ten stores at once on an empty database: one admin", async () => {
  // Ten pools (ten nodes' worth), every check made before any insert: a count-then-insert would make ten.
  const url = await cluster.postgres.database();
  const stores = await Promise.all(Array.from({ length: 10 }, () => PgStore.open(url, { max: 2 })));
  try {
    const made = await Promise.all(stores.map((s) => new IdentityService(s.identity).bootstrapAdmin()));
    assert.equal(made.filter((m) => m !== null).length, 1);
    const accounts = await stores[0]!.identity.listAccounts();
    assert.deepEqual(accounts.map((a) => a.admin), [true]);
    const winner = made.find((m) => m !== null)!;
    assert.equal(await new IdentityService(stores[9]!.identity).authenticateAccount(winner.token), winner.accountId);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});
