import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { pino } from "pino";
import { LocalLeases, PgLeases, SINGLETON_KINDS, leaseKey, type SingletonKind } from "../../src/cluster/singleton.js";
import { startCluster } from "../helpers/cluster.js";
import { startPostgres, type TestPostgres } from "../helpers/postgres.js";
import { until } from "../helpers/until.js";

// The leases on a real PostgreSQL: one holder per kind; a holder whose connection is ended
// (as when its node dies) or stops answering (a partition) stops its work before another
// node can take it; a clean stop hands over at the next try.

let postgres: TestPostgres;
let url: string;
let db: pg.Client;
const leases: PgLeases[] = [];
const logger = pino({ level: "silent" });

before(async () => {
  postgres = await startPostgres();
  url = await postgres.database();
  db = new pg.Client({ connectionString: url });
  await db.connect();
});
after(async () => {
  await Promise.all(leases.map((l) => l.stop()));
  await db?.end();
  await postgres?.stop();
});

/** Every change any lease tells, in the order told. */
const changes: { node: string; kind: SingletonKind; held: boolean }[] = [];

function lease(node: string, timeoutMs = 3000): PgLeases {
  const l = new PgLeases({ url, nodeId: node, retryMs: 200, timeoutMs, logger });
  l.onChange((kind, held) => changes.push({ node, kind, held }));
  leases.push(l);
  l.start();
  return l;
}

async function backendOf(node: string): Promise<number> {
  return until(async () => (await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [`sluice-lease:${node}`])).rows[0]?.pid);
}

const holdsAll = (l: PgLeases) => async () => (SINGLETON_KINDS.every((k) => l.held(k)) ? true : undefined);

test("without a shared store, every kind is the node's own", () => {
  const local = new LocalLeases();
  for (const kind of SINGLETON_KINDS) assert.equal(local.held(kind), true);
});

test("one holder per kind; a holder whose connection ends stops before the other node takes over", async () => {
  const a = lease("a");
  await until(holdsAll(a));
  const b = lease("b");
  await backendOf("b");
  // a holds every lock: whenever b tries, it gets nothing.
  assert.ok(SINGLETON_KINDS.every((k) => !b.held(k)));

  changes.length = 0;
  await db.query("SELECT pg_terminate_backend($1)", [await backendOf("a")]);
  await until(async () => (SINGLETON_KINDS.every((k) => changes.some((c) => c.node === "a" && c.kind === k && !c.held)) ? true : undefined));
  // a's node gone for good (alive, it would reconnect and might win some locks back).
  await a.stop();
  await until(holdsAll(b));
  for (const kind of SINGLETON_KINDS) {
    const lost = changes.findIndex((c) => c.node === "a" && c.kind === kind && !c.held);
    const taken = changes.findIndex((c) => c.node === "b" && c.kind === kind && c.held);
    assert.ok(lost >= 0 && lost < taken, `${kind}: ${JSON.stringify(changes)}`);
  }
  // A node (re)joining waits its turn.
  const a2 = lease("a2");
  await backendOf("a2");
  assert.ok(SINGLETON_KINDS.every((k) => !a2.held(k)));

  // A clean stop releases at once: a2 takes over at its next try.
  await b.stop();
  await until(holdsAll(a2));
});

test("a holder whose PostgreSQL stops answering drops its leases at the check's timeout; the lock is taken only once its session is gone", async () => {
  const holder = leases.find((l) => SINGLETON_KINDS.every((k) => l.held(k)))!; // a2, since the test before
  const c = lease("c", 3000);
  await backendOf("c");
  const stuck = await backendOf("a2");
  changes.length = 0;
  // The backend frozen: a2's checks get no answer, as in a network partition.
  process.kill(stuck, "SIGSTOP");
  try {
    await until(async () => (SINGLETON_KINDS.every((k) => !holder.held(k)) ? true : undefined), 10_000);
    // The frozen session still holds the locks: c cannot have them while a2 believed it held them.
    assert.ok(SINGLETON_KINDS.every((k) => !c.held(k)), JSON.stringify(changes));
  } finally {
    process.kill(stuck, "SIGCONT");
  }
  // Resumed, the backend finds its socket closed by a2, ends, and its locks go to a live node.
  await until(async () => (SINGLETON_KINDS.every((k) => c.held(k) || holder.held(k)) ? true : undefined), 15_000);
  const lostAt = changes.findIndex((x) => x.node === "a2" && !x.held);
  const firstTaken = changes.findIndex((x) => x.held);
  assert.ok(lostAt >= 0 && lostAt < firstTaken, JSON.stringify(changes));
});

test("nodes on a shared store (startCluster): one admin, each kind held by one of them; an interval action made through the other node runs on the timers' node", async () => {
  const cluster = await startCluster({ nodes: ["p1", "p2"], store: postgres });
  const { nodes, store: shared } = cluster;
  const check = new pg.Client({ connectionString: shared });
  await check.connect();
  try {
    assert.equal(nodes[1]!.adminToken, nodes[0]!.adminToken);
    const rows = await until(async () => {
      const rows = (await check.query<{ key: string; app: string }>(
        `SELECT ((l.classid::bigint << 32) | l.objid::bigint)::text AS key, a.application_name AS app
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1`,
      )).rows;
      return SINGLETON_KINDS.every((k) => rows.filter((r) => BigInt(r.key) === leaseKey(k) && /^sluice-lease:p[12]$/.test(r.app)).length === 1) ? rows : undefined;
    }, 10_000);
    const timersNode = rows.find((r) => BigInt(r.key) === leaseKey("timers"))!.app.slice("sluice-lease:".length);
    const other = nodes.find((n) => n.name !== timersNode)!;
    // Made through the node without the timers: the change notice makes the timers' node read it.
    const listener = await other.device();
    const sub = await other.connect({ username: "Token", password: listener.token, protocolVersion: 5 });
    await sub.subscribeAsync("beat");
    const beats: string[] = [];
    sub.on("message", (_t, p) => beats.push(p.toString()));
    const res = await fetch(`${other.api}/action`, {
      method: "POST", headers: { token: other.adminToken, "content-type": "application/json" },
      body: JSON.stringify({ name: "beat", type: "interval", trigger: [{ interval: "1 second" }], action: { type: "mqtt", topic: "beat", payload: "b" } }),
    });
    assert.equal(res.status, 200);
    await until(async () => (beats.length >= 2 ? true : undefined), 10_000);
  } finally {
    await check.end();
    await cluster.close();
  }
});
