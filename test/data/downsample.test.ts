import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { parseDataQuery, type DataQuery } from "../../src/data/query.js";
import { downsampleEdges, downsampleSql } from "../../src/data/sqlite/bucket_queries.js";
import { SqliteBucketStore } from "../../src/data/sqlite/bucket_store.js";
import type { DownsampleBucket, NormalizedRecord, RecordValue } from "../../src/data/types.js";
import { parseQueryString } from "../../src/http/query.js";
import { downsampleSql as pgDownsampleSql, Params } from "../../src/data/postgres/bucket_queries.js";
import { backends, type BackendHandle, type TestBucketStore } from "../helpers/backends.js";
import { explainPg } from "../helpers/pg_explain.js";

// `query=downsample`: min, max, average, count and first/last time per time bucket, computed on
// the record index, checked on data whose answer is known: on every backend, then SQLite's plan
// and its kept hour summaries.

let dir: string;
let file: string;
let store: SqliteBucketStore;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-downsample-"));
  file = join(dir, "sluice.db");
  store = SqliteBucketStore.open(file, { retentionSweepMs: 0, writerThread: false });
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.parse("2024-01-01T00:00:00.000Z");
const rec = (variable: string, value: RecordValue | null, ms: number): NormalizedRecord => ({
  variable, value, unit: null, time: new Date(T0 + ms), group: "g", location: null, metadata: null,
});
const q = (qs: string): DataQuery => parseDataQuery(parseQueryString(qs), new Date(T0 + 86_400_000));

const iso = (ms: number) => new Date(T0 + ms).toISOString();
const range = (from: number, to: number) => `start_date=${iso(from)}&end_date=${iso(to)}`;

// The same tests on every backend (test/helpers/backends.ts): SQLite and PostgreSQL compute
// the buckets each their own way (per-bucket index ranges; one GROUP BY over width_bucket).
for (const h0 of backends()) {
  describe(`query=downsample on ${h0.name}`, () => {
    let h: BackendHandle;
    let store: TestBucketStore;
    async function series(device: string, qs: string): Promise<DownsampleBucket[]> {
      const result = await store.query(device, q(qs));
      assert.equal(result.type, "series");
      return (result as { series: DownsampleBucket[] }).series;
    }
    after(async () => {
      await h.stop();
    });
    before(async () => {
      h = await h0.start();
      store = await h.buckets();
      // temperature: 0..99 at t = 0, 10, ..., 990 ms; humidity every 100 ms; a string and a
      // boolean that numeric summaries must skip; another device that must not leak in.
      await store.insert("dev", Array.from({ length: 100 }, (_, i) => rec("temperature", i, i * 10)));
      await store.insert("dev", Array.from({ length: 10 }, (_, i) => rec("humidity", 50 + i, i * 100)));
      await store.insert("dev", [rec("temperature", "broken", 5), rec("temperature", true, 15), rec("temperature", null, 25)]);
      await store.insert("other", Array.from({ length: 100 }, (_, i) => rec("temperature", 1000, i * 10)));
    });

    test("min, max, average, count and first/last time per bucket, numeric records only", async () => {
      // [0, 999] in 4 buckets of 250 ms: temperature 0-24, 25-49, 50-74, 75-99.
      const got = await series("dev", `query=downsample&buckets=4&variables=temperature&${range(0, 999)}`);
      assert.equal(got.length, 4);
      got.forEach((b, i) => {
        assert.equal(b.variable, "temperature");
        assert.equal(b.start.getTime(), T0 + i * 250);
        assert.equal(b.end.getTime(), T0 + (i + 1) * 250);
        assert.equal(b.min, i * 25);
        assert.equal(b.max, i * 25 + 24);
        assert.equal(b.count, 25);
        assert.equal(b.avg, i * 25 + 12);
        assert.equal(b.first.getTime(), T0 + i * 250);
        assert.equal(b.last.getTime(), T0 + i * 250 + 240);
      });
    });

    test("bucket edges: a record on an edge belongs to the bucket it starts; the end date is included", async () => {
      // [0, 99]: 2 buckets [0, 50) and [50, 100). Records at 0, 10, 20, 30, 40 | 50, 60, 70, 80, 90.
      const got = await series("dev", `query=downsample&buckets=2&variables=temperature&${range(0, 99)}`);
      assert.deepEqual(got.map((b) => [b.min, b.max, b.count]), [[0, 4, 5], [5, 9, 5]]);
      // Ending exactly on a record's time includes it: [0, 90] holds the record at 90.
      const inclusive = await series("dev", `query=downsample&buckets=1&variables=temperature&${range(0, 90)}`);
      assert.deepEqual(inclusive.map((b) => [b.min, b.max, b.count]), [[0, 9, 10]]);
      assert.equal(inclusive[0]!.end.getTime(), T0 + 91);
      // Starting right after a record leaves it out.
      const after = await series("dev", `query=downsample&buckets=1&variables=temperature&${range(11, 90)}`);
      assert.deepEqual(after.map((b) => [b.min, b.count]), [[2, 8]]);
    });

    test("empty buckets are left out; never more buckets than milliseconds", async () => {
      const got = await series("dev", `query=downsample&buckets=1000&variables=humidity&${range(0, 999)}`);
      assert.equal(got.length, 10);
      assert.deepEqual(got.map((b) => b.count), Array(10).fill(1));
      assert.deepEqual(downsampleEdges(0, 4, 10), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(downsampleEdges(0, 9, 3), [0, 3, 6, 10]);
      // A century in 10 000 buckets: exact integer edges (no float drift), the last one past the end.
      const century = downsampleEdges(-1e12, 2e12, 10_000);
      assert.equal(century.length, 10_001);
      assert.equal(century.at(-1), 2e12 + 1);
      assert.ok(century.every((e, i) => i === 0 || e > century[i - 1]!));
    });

    test("without variables: every variable of the device, in time order then by variable", async () => {
      const got = await series("dev", `query=downsample&buckets=2&${range(0, 999)}`);
      assert.deepEqual(got.map((b) => `${b.start.getTime() - T0} ${b.variable} ${b.count}`), ["0 humidity 5", "0 temperature 50", "500 humidity 5", "500 temperature 50"]);
    });

    test("a device with no records, or none in the range, answers no buckets", async () => {
      assert.deepEqual(await series("nobody", `query=downsample&buckets=10&${range(0, 999)}`), []);
      assert.deepEqual(await series("dev", `query=downsample&buckets=10&${range(5000, 9000)}`), []);
    });

    if (h0.name === "postgres") {
      test("one statement over the record index's range (no scan of the table)", async () => {
        const p = new Params();
        const sql = pgDownsampleSql(p, 1, { variables: ["temperature"] }, downsampleEdges(T0, T0 + 999, 4));
        const text = await explainPg(h.url!, sql, p.values);
        assert.match(text, /Index Scan using \w+_bucket_variable_time_seq_idx/, text);
        assert.doesNotMatch(text, /Seq Scan/, text);
      });
    }

    test("needs start_date and buckets (1 to 10 000); end_date defaults to now", () => {
      assert.throws(() => q("query=downsample&buckets=10"), /needs start_date/);
      assert.throws(() => q(`query=downsample&start_date=${iso(0)}`), /needs buckets/);
      assert.throws(() => q(`query=downsample&buckets=0&start_date=${iso(0)}`), /buckets must be an integer from 1 to 10000/);
      assert.throws(() => q(`query=downsample&buckets=10001&start_date=${iso(0)}`), /buckets must be an integer/);
      const parsed = q(`query=downsample&buckets=5&start_date=${iso(0)}`);
      assert.equal(parsed.kind === "downsample" && parsed.end.getTime(), T0 + 86_400_000);
    });

    test("it selects nothing to delete", async () => {
      await assert.rejects(store.remove("dev", q(`query=downsample&buckets=5&start_date=${iso(0)}`)), /cannot be used to delete/);
    });
  });
}

describe("query=downsample in SQLite", () => {
  test("each bucket is a range on the record index, even when statistics would prefer a scan", () => {
    const db = new Database(file);
    db.exec("ANALYZE");
    const { sql, params } = downsampleSql(1, { variables: ["temperature"] });
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params, T0, T0 + 1000) as { detail: string }[]).map((r) => r.detail).join("; ");
    assert.match(plan, /SEARCH data_records USING INDEX data_records_by_variable \(bucket=\? AND variable=\? AND time>\? AND time<\?\)/);
    assert.doesNotMatch(plan, /\bSCAN\b|TEMP B-TREE/);
    db.close();
  });
});

describe("query=downsample over whole hours (kept hour summaries)", () => {
  const HOUR = 3_600_000;
  let reference: SqliteBucketStore;
  before(async () => {
    // Same file, nothing kept: what every answer must equal.
    reference = SqliteBucketStore.open(file, { retentionSweepMs: 0, writerThread: false, downsampleCacheBytes: 0 });
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const records = Array.from({ length: 3000 }, () => rec("load", Math.round(random() * 1000) / 10, Math.floor(random() * 72 * HOUR)));
    await store.insert("hours", records);
  });
  after(() => reference.close());

  const both = async (qs: string) => {
    const [kept, plain] = await Promise.all([store.query("hours", q(qs)), reference.query("hours", q(qs))]);
    // The hours a first query read are summarized after it: the next one reads those.
    await store.summariesDone();
    return { kept: (kept as { series: DownsampleBucket[] }).series, plain: (plain as { series: DownsampleBucket[] }).series };
  };
  const same = (a: DownsampleBucket[], b: DownsampleBucket[]) => {
    assert.equal(a.length, b.length);
    a.forEach((x, i) => {
      const y = b[i]!;
      assert.deepEqual([x.start, x.end, x.min, x.max, x.count, x.first, x.last], [y.start, y.end, y.min, y.max, y.count, y.first, y.last]);
      assert.ok(Math.abs(x.avg - y.avg) < 1e-9, `${x.avg} vs ${y.avg}`);
    });
  };

  test("answers as reading every record does, first time and again, for any bucket count and range", async () => {
    for (const [buckets, from, to] of [[3, 0, 72 * HOUR - 1], [7, 1234, 50 * HOUR + 999], [72, 0, 72 * HOUR - 1], [500, 0, 72 * HOUR], [2, HOUR / 2, 5 * HOUR + 17]] as const) {
      const qs = `query=downsample&buckets=${buckets}&variables=load&${range(from, to)}`;
      for (let run = 0; run < 2; run++) {
        const { kept, plain } = await both(qs);
        same(kept, plain);
      }
    }
  });

  test("a chart asked again reads the kept hours, not the records", async () => {
    const fresh = SqliteBucketStore.open(file, { retentionSweepMs: 0, writerThread: false });
    try {
      // Count the record reads (one indexed range aggregate each).
      const queries = (fresh as unknown as { queries: { downsampleStep: (...args: unknown[]) => unknown } }).queries;
      const step = queries.downsampleStep.bind(queries);
      let reads = 0;
      queries.downsampleStep = (...args: unknown[]) => {
        reads++;
        return step(...args);
      };
      const qs = q(`query=downsample&buckets=3&variables=load&${range(0, 72 * HOUR - 1)}`);
      const first = ((await fresh.query("hours", qs)) as { series: DownsampleBucket[] }).series;
      assert.equal(reads, 3, "the first query reads each bucket's records");
      await fresh.summariesDone();
      reads = 0;
      const again = ((await fresh.query("hours", qs)) as { series: DownsampleBucket[] }).series;
      same(again, first);
      // Buckets of 24 whole hours each: only kept hours, no record read.
      assert.equal(reads, 0);
    } finally {
      await fresh.close();
    }
  });

  test("a chart prepared ahead (prepareDownsample) is answered from kept hours on its first query", async () => {
    const fresh = SqliteBucketStore.open(file, { retentionSweepMs: 0, writerThread: false });
    try {
      const queries = (fresh as unknown as { queries: { downsampleStep: (...args: unknown[]) => unknown } }).queries;
      const step = queries.downsampleStep.bind(queries);
      let reads = 0;
      queries.downsampleStep = (...args: unknown[]) => {
        reads++;
        return step(...args);
      };
      fresh.prepareDownsample("hours", ["load"], new Date(T0), new Date(T0 + 72 * HOUR));
      await fresh.summariesDone();
      assert.ok(reads >= 72, `the preparation read each hour once (${reads})`);
      reads = 0;
      const qs = q(`query=downsample&buckets=3&variables=load&${range(0, 72 * HOUR - 1)}`);
      const prepared = ((await fresh.query("hours", qs)) as { series: DownsampleBucket[] }).series;
      assert.equal(reads, 0, "the first query read no record");
      same(prepared, ((await reference.query("hours", qs)) as { series: DownsampleBucket[] }).series);
      // A device without a bucket, or an unknown variable, is nothing to prepare.
      fresh.prepareDownsample("no-such-device", ["load"], new Date(T0), new Date(T0 + HOUR));
      await fresh.summariesDone();
    } finally {
      await fresh.close();
    }
  });

  test("stays exact after inserts into kept hours, edits and deletes", async () => {
    const qs = `query=downsample&buckets=4&variables=load&${range(0, 72 * HOUR - 1)}`;
    await both(qs); // keeps the hours
    const [stored] = await store.insert("hours", [rec("load", 5000, 10 * HOUR + 5)]);
    let { kept, plain } = await both(qs);
    same(kept, plain);
    assert.equal(Math.max(...kept.map((b) => b.max)), 5000);
    await store.edit("hours", [{ id: stored!.id, value: -5 }]);
    ({ kept, plain } = await both(qs));
    same(kept, plain);
    assert.equal(Math.min(...kept.map((b) => b.min)), -5);
    await store.remove("hours", q(`ids=${stored!.id}`));
    ({ kept, plain } = await both(qs));
    same(kept, plain);
    assert.ok(Math.min(...kept.map((b) => b.min)) >= 0);
  });
});
