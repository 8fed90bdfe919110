// Committed insert rate of the PostgreSQL bucket store (issue 14; not part of `npm run bench`,
// which starts Sluice on SQLite: Sluice does not start on PostgreSQL yet):
//   npx tsc -p . && node dist/bench/pg_insert.js [seconds] [producers recordsPerCall] [copy|unnest]
// It starts a private PostgreSQL (test/helpers/postgres.ts) WITH fsync on (`--durable`, the
// default here; `--no-fsync` for the test settings), so a committed record is on disk as in
// production, then runs bench/bucket_insert.ts's closed loop: `producers` devices each insert
// `recordsPerCall` records and insert again once their previous call has resolved (committed).
// The figure counts records whose insert resolved; the store's count must agree. Beside it,
// records per CPU-second of Node and PostgreSQL together: on a machine shared with other work
// the rate follows the CPU share this process gets; the cost per record does much less.
// Without producers/recordsPerCall it runs the three shapes of bucket_insert.ts
// (200 x 10, 1000 x 1, 20 x 500), each with COPY and with INSERT ... unnest().
import { performance } from "node:perf_hooks";
import pg from "pg";
import { PgBucketStore } from "../src/data/postgres/bucket_store.js";
import type { InsertMethod } from "../src/data/postgres/insert_commit.js";
import type { NormalizedRecord } from "../src/data/types.js";
import { generatedGroup, validateRecords } from "../src/data/validate.js";
import { startPostgres } from "../test/helpers/postgres.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const durable = !process.argv.includes("--no-fsync");
const seconds = Number(args[0] ?? 4);
const shapes: [number, number][] = args[2] ? [[Number(args[1]), Number(args[2])]] : [[200, 10], [1000, 1], [20, 500]];
const methods: InsertMethod[] = args[3] ? [args[3] as InsertMethod] : ["copy", "unnest"];
/** PgBucketStore's commitLanes (BENCH_PG_LANES, default the store's own). */
const lanes = process.env.BENCH_PG_LANES ? Number(process.env.BENCH_PG_LANES) : undefined;
/** Calls in flight per device (BENCH_PG_WINDOW, default 1): 64 is the ingest scenarios' QoS 1 window. */
const window = Math.max(1, Number(process.env.BENCH_PG_WINDOW ?? 1));

function rawBatch(producer: number, n: number): unknown[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    variable: ["temperature", "humidity", "pressure", "battery", "rssi"][i % 5],
    value: (producer * 7 + i) % 100 + 0.5,
    unit: "u",
    time: new Date(now + i).toISOString(),
    ...(i % 5 === 0 && { metadata: { topic: `devices/${producer}/up` } }),
  }));
}

const server = await startPostgres({ fsync: durable });
console.log(`PostgreSQL at ${server.url}, fsync ${durable ? "on (synchronous_commit on)" : "OFF (test settings)"}, ${seconds} s a run, ${window} call(s) in flight per device`);

async function measure(method: InsertMethod, producers: number, perCall: number): Promise<void> {
  const url = await server.database();
  const store = await PgBucketStore.open(url, { retentionSweepMs: 0, insertMethod: method, ...(lanes !== undefined && { commitLanes: lanes }) });
  const prebuilt: NormalizedRecord[][] = Array.from({ length: producers }, (_, p) => validateRecords(rawBatch(p, perCall), new Date()));
  let committed = 0;
  let calls = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const serverCpu = server.cpuSeconds();
  await Promise.all(
    Array.from({ length: producers * window }, async (_, i) => {
      const p = i % producers;
      const device = `device-${p}`;
      while (performance.now() < deadline) {
        const group = generatedGroup(new Date());
        const stored = await store.insert(device, prebuilt[p]!.map((r) => ({ ...r, group })));
        committed += stored.length;
        calls++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const nodeShare = (used.user + used.system) / 1e6 / elapsed;
  const serverShare = (server.cpuSeconds() - serverCpu) / elapsed;
  const total = (await Promise.all(Array.from({ length: producers }, (_, p) => store.count(`device-${p}`)))).reduce((a, b) => a + b, 0);
  await store.close();
  if (total !== committed) throw new Error(`counted ${total} records, resolved ${committed}`);
  const bytes = await bytesPerRecord(url, total);
  console.log(
    `${method.padEnd(6)} ${producers} x ${perCall}: ${Math.round(committed / elapsed).toLocaleString("en")} records/s committed, ` +
      `${Math.round(committed / elapsed / Math.max(0.01, nodeShare + serverShare)).toLocaleString("en")} per CPU-second ` +
      `(${committed.toLocaleString("en")} records, ${calls.toLocaleString("en")} calls, ${elapsed.toFixed(1)} s; ` +
      `CPU: Node ${Math.round(nodeShare * 100)} %, PostgreSQL ${Math.round(serverShare * 100)} %; ` +
      `CPU per record: Node ${(nodeShare * elapsed / committed * 1e6).toFixed(1)} µs, PostgreSQL ${(serverShare * elapsed / committed * 1e6).toFixed(1)} µs; ` +
      `on disk ${bytes.heap.toFixed(0)} bytes a record, ${bytes.total.toFixed(0)} with its indexes)`,
  );
}

/** The records' partitions' size after VACUUM, per record: the table alone and with its indexes (the capacity model's storage). */
async function bytesPerRecord(url: string, records: number): Promise<{ heap: number; total: number }> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await db.query("VACUUM ANALYZE data_records");
    const row = (await db.query<{ heap: string; total: string }>(
      `SELECT sum(pg_relation_size(i.inhrelid))::text AS heap, sum(pg_total_relation_size(i.inhrelid))::text AS total
         FROM pg_inherits i WHERE i.inhparent = 'data_records'::regclass`)).rows[0]!;
    return { heap: Number(row.heap) / records, total: Number(row.total) / records };
  } finally {
    await db.end();
  }
}

try {
  for (const [producers, perCall] of shapes) for (const method of methods) await measure(method, producers, perCall);
} finally {
  await server.stop();
}
