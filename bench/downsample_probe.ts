// Micro-measurement of query=downsample on one device's year of records (not part of `npm run bench`):
//   npx tsc -p . && node dist/bench/downsample_probe.js [records] [dir]
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseDataQuery } from "../src/data/query.js";
import { SqliteBucketStore } from "../src/data/sqlite/bucket_store.js";
import type { NormalizedRecord } from "../src/data/types.js";

const n = Number(process.argv[2] ?? 1_000_000);
const dir = process.argv[3] ?? "/tmp/sluice-downsample-probe";
const YEAR = 365 * 86_400_000;
const START = Date.parse("2025-01-01T00:00:00Z");

async function main(): Promise<void> {
  const file = join(dir, "sluice.db");
  const fresh = !existsSync(file);
  mkdirSync(dir, { recursive: true });
  const store = SqliteBucketStore.open(file, { retentionSweepMs: 0 });
  if (fresh) {
    const t = performance.now();
    for (let from = 0; from < n; from += 5000) {
      const batch: NormalizedRecord[] = [];
      for (let i = from; i < Math.min(n, from + 5000); i++) {
        batch.push({ variable: "temperature", value: 20 + Math.sin(i / 5000) * 8, unit: null, time: new Date(START + Math.floor((i * YEAR) / n)), group: `g${from}`, location: null, metadata: null });
      }
      await store.insert("dev", batch);
    }
    console.log(`filled ${n} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const cacheBytes = Number(process.env.CACHE ?? 32 * 1024 * 1024);
  await store.close();
  const reader = SqliteBucketStore.open(file, { retentionSweepMs: 0, downsampleCacheBytes: cacheBytes });
  const q = parseDataQuery({ query: "downsample", buckets: "600", variables: "temperature", start_date: new Date(START).toISOString(), end_date: new Date(START + YEAR - 1).toISOString() }, new Date());
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const r = await reader.query("dev", q);
    const used = process.cpuUsage(cpu);
    const wall = performance.now() - t;
    await reader.summariesDone();
    console.log(`downsample 600: ${wall.toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU (${r.type === "series" ? r.series.length : "?"} buckets)`);
  }
  await reader.close();
}
main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
