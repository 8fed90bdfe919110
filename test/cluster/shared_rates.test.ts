import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { SharedRates } from "../../src/cluster/shared_rates.js";
import { PgStore } from "../../src/store/postgres/index.js";
import { startPostgres, type TestPostgres } from "../helpers/postgres.js";
import { until } from "../helpers/until.js";

// Rates leased from one bucket in PostgreSQL (docs/cluster.md, "Plan limits across nodes"): two
// `SharedRates` on one database stand for two nodes.
let postgres: TestPostgres;
let store: PgStore;
const logger = pino({ level: "silent" });
const rates: SharedRates[] = [];

before(async () => {
  postgres = await startPostgres();
  store = await PgStore.open(await postgres.database(), { max: 4 });
});
after(async () => {
  for (const r of rates) await r.stop();
  await store?.close();
  await postgres?.stop();
});

function node(idleMs = 60_000): SharedRates {
  const r = new SharedRates({ pool: store.pool, creditPercent: 5, liveNodes: () => 2, logger, idleMs, retryMs: 20 });
  rates.push(r);
  return r;
}

/** Takes one token at a time from each gate in turn until every gate has refused for a while; counts what passed. */
async function drain(gates: { take(now: number, n?: number): boolean }[]): Promise<number> {
  let admitted = 0;
  let refusedInARow = 0;
  while (refusedInARow < 40 * gates.length) {
    for (const g of gates) {
      if (g.take(Date.now())) {
        admitted++;
        refusedInARow = 0;
      } else refusedInARow++;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return admitted;
}

test("two nodes spending one account's rate admit the bucket and little more", async () => {
  const capacity = 100;
  const start = Date.now();
  const admitted = await drain([node().gate("acct-1", "publishes", capacity), node().gate("acct-1", "publishes", capacity)]);
  const refilled = (capacity * (Date.now() - start)) / 60_000;
  assert.ok(admitted >= capacity * 0.9, `admitted ${admitted} of ${capacity}`);
  assert.ok(admitted <= (capacity + refilled) * 1.1, `admitted ${admitted}, allowed ${(capacity + refilled).toFixed(1)}`);
});

test("a batch larger than the credit passes on a pocket in no debt; the next waits for the lease that repays it", async () => {
  const gate = node().gate("acct-2", "records", 100);
  assert.equal(gate.take(Date.now(), 60), true);
  // 60 owed, well past the credit (2.5): refused until the lease of 60 plus a chunk comes back.
  assert.equal(gate.take(Date.now(), 30), false);
  await until(async () => (gate.take(Date.now(), 30) ? true : undefined));
  // More than a minute's allowance at once never passes.
  assert.equal(gate.take(Date.now(), 101), false);
});

test("a quiet pocket's tokens go back to the shared bucket", async () => {
  const quiet = node(50).gate("acct-3", "publishes", 1000);
  assert.equal(quiet.take(Date.now()), true);
  const tokens = async () => ((await store.pool.query("SELECT tokens FROM plan_rate_buckets WHERE account_id = 'acct-3'")).rows[0] as { tokens: number } | undefined)?.tokens;
  // Leased: a chunk (2 % of 1000, plus the token spent on credit) left the bucket.
  await until(async () => ((await tokens()) !== undefined && (await tokens())! <= 1000 - 20 ? true : undefined));
  // Given back after 50 ms of quiet: the bucket is full again but for the one token spent (and refilled since).
  await until(async () => ((await tokens())! >= 999 ? true : undefined), 3000);
});
