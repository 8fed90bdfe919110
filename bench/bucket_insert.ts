// Micro-measurement of the bucket store's committed insert rate (not part of `npm run bench`):
//   npx tsc -p . && node dist/bench/bucket_insert.js [seconds] [producers recordsPerCall]
// `producers` devices each insert `recordsPerCall` records and insert again as soon as their
// previous call has resolved (i.e. committed): a closed loop, one call in flight per device.
// The figure counts records whose insert promise resolved, so it includes the group commit's
// latency. "validate + insert" adds validateRecords, what the HTTP and MQTT paths run first.
// Without producers/recordsPerCall it runs three shapes: 200 x 10, 1000 x 1 (the worst case:
// every record of a commit from a different device) and 20 x 500.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { SqliteBucketStore } from "../src/data/sqlite/bucket_store.js";
import type { NormalizedRecord } from "../src/data/types.js";
import { generatedGroup, validateRecords } from "../src/data/validate.js";

const seconds = Number(process.argv[2] ?? 4);
const shapes: [number, number][] = process.argv[4] ? [[Number(process.argv[3]), Number(process.argv[4])]] : [[200, 10], [1000, 1], [20, 500]];

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

async function measure(label: string, validate: boolean, producers: number, perCall: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-buckets-"));
  const store = SqliteBucketStore.open(join(dir, "sluice.db"), { retentionSweepMs: 0 });
  const prebuilt: NormalizedRecord[][] = Array.from({ length: producers }, (_, p) => validateRecords(rawBatch(p, perCall), new Date()));
  let committed = 0;
  let calls = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async (_, p) => {
      const device = `device-${p}`;
      while (performance.now() < deadline) {
        // Prebuilt records still get a fresh generated group per call, as real batches do: a
        // group reused by every call would land at one random place of the group index.
        const records = validate ? validateRecords(rawBatch(p, perCall), new Date()) : withGroup(prebuilt[p]!, generatedGroup(new Date()));
        const stored = await store.insert(device, records); // not `committed += await`: that reads committed before awaiting
        committed += stored.length;
        calls++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const total = await Promise.all(Array.from({ length: producers }, (_, p) => store.count(`device-${p}`)));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const sum = total.reduce((a, b) => a + b, 0);
  if (sum !== committed) throw new Error(`counted ${sum} records, resolved ${committed}`);
  console.log(
    `${label}: ${Math.round(committed / elapsed).toLocaleString("en")} records/s committed ` +
      `(${committed.toLocaleString("en")} records, ${calls.toLocaleString("en")} calls of ${perCall}, ${producers} producers, ${elapsed.toFixed(1)} s)`,
  );
}

function withGroup(records: NormalizedRecord[], group: string): NormalizedRecord[] {
  return records.map((r) => ({ ...r, group }));
}

for (const [producers, perCall] of shapes) {
  await measure("insert only      ", false, producers, perCall);
  await measure("validate + insert", true, producers, perCall);
}
