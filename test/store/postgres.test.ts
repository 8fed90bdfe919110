import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { PgBucketStore } from "../../src/data/postgres/bucket_store.js";
import { parseDataQuery } from "../../src/data/query.js";
import { seqOf } from "../../src/data/sqlite/record_codec.js";
import type { NormalizedRecord, QueryResult, StoredRecord } from "../../src/data/types.js";
import { PgStore } from "../../src/store/postgres/index.js";
import { deviceListSql } from "../../src/store/postgres/device_list_sql.js";
import { migratePg, pgMigrations, pgSchemaVersion } from "../../src/store/postgres/migrations.js";
import { openPool } from "../../src/store/postgres/pool.js";
import { explainPg } from "../helpers/pg_explain.js";
import { startPostgres, type TestPostgres } from "../helpers/postgres.js";

// What only the PostgreSQL store has: migrations shared by nodes, time partitions made on
// demand, several stores (nodes) on one database. The interfaces themselves are tested once per
// backend (test/store/store_contract.test.ts, test/data/bucket_store.test.ts).

let server: TestPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server.stop();
});

async function sql<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const rec = (variable: string, value: number, time: Date): NormalizedRecord => ({
  variable, value, unit: null, time, group: "g", location: null, metadata: null,
});

describe("migrations", () => {
  test("five nodes starting at once migrate once: each version applied exactly one time", async () => {
    const url = await server.database();
    const stores = await Promise.all(Array.from({ length: 5 }, () => PgStore.open(url)));
    const rows = await sql<{ version: number; n: string }>(url, "SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY version");
    assert.deepEqual(rows.map((r) => [r.version, Number(r.n)]), pgMigrations.map((m) => [m.version, 1]).sort((a, b) => a[0]! - b[0]!));
    await Promise.all(stores.map((s) => s.close()));
  });

  test("a database migrated by a newer Sluice is refused, naming both versions", async () => {
    const url = await server.database();
    await (await PgStore.open(url)).close();
    await sql(url, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')", [pgSchemaVersion + 1]);
    await assert.rejects(PgStore.open(url), new RegExp(`schema is version ${pgSchemaVersion + 1}, newer than this Sluice knows \\(${pgSchemaVersion}\\)`));
  });
});

describe("device list by name", () => {
  // Migration 12 took the name out of devices_by_name (a B-tree entry cannot hold a long
  // name): the name order must still walk the index, sorting only runs of equal sort keys.
  test("walks devices_by_name, both directions, with an Incremental Sort and no full Sort", async () => {
    const url = await server.database();
    const store = await PgStore.open(url);
    await store.close();
    for (const desc of [false, true]) {
      const { sql: text, params } = deviceListSql("acc", { limit: 50, offset: 100, desc });
      const plan = await explainPg(url, text, params);
      assert.match(plan, /Index Scan( Backward)? using devices_by_name/, plan);
      assert.match(plan, /Incremental Sort/, plan);
      assert.doesNotMatch(plan, /(^|->\s+)Sort\s+\(cost/m, plan);
    }
  });
});

describe("record partitions", () => {
  let url: string;
  let store: PgBucketStore;
  before(async () => {
    url = await server.database();
    store = await PgBucketStore.open(url, { retentionSweepMs: 0 });
  });
  after(async () => {
    await store.close();
  });
  const partitions = async () =>
    (await sql<{ name: string }>(url, "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'data_records'::regclass ORDER BY 1"))
      .map((r) => r.name);
  const where = async (seqTimes: number[]) =>
    sql<{ part: string; time: number }>(url, "SELECT tableoid::regclass::text AS part, time FROM data_records WHERE time = ANY($1::bigint[]) ORDER BY time", [seqTimes]);

  test("months near now get their own partition; far dates their year's; before 2000 and from 2100 the fixed ones", async () => {
    const now = new Date();
    const thisMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 15));
    const times = [thisMonth, new Date("2010-05-05T00:00:00Z"), new Date("2010-11-05T00:00:00Z"), new Date("1970-01-01T00:00:00Z"), new Date("2150-01-01T00:00:00Z")];
    await store.insert("p1", times.map((t, i) => rec("v", i, t)));
    const month = `data_records_m${thisMonth.getUTCFullYear()}${String(thisMonth.getUTCMonth() + 1).padStart(2, "0")}`;
    const got = await where(times.map((t) => t.getTime()));
    assert.equal(got.length, 5);
    const byTime = new Map(got.map((r) => [Number(r.time), r.part]));
    assert.equal(byTime.get(times[0]!.getTime()), month);
    assert.equal(byTime.get(times[1]!.getTime()), "data_records_y2010");
    assert.equal(byTime.get(times[2]!.getTime()), "data_records_y2010", "one partition for the whole far year");
    assert.equal(byTime.get(times[3]!.getTime()), "data_records_before");
    assert.equal(byTime.get(times[4]!.getTime()), "data_records_after");
  });

  test("a device sending scattered dates makes at most one partition per year, never one per record", async () => {
    const before = (await partitions()).length;
    const records = Array.from({ length: 2000 }, (_, i) => rec("v", i, new Date(Date.UTC(2030, 0, 1) + i * 3_600_000 * 13)));
    await store.insert("p2", records);
    const made = (await partitions()).filter((p) => /_y203\d$/.test(p));
    assert.ok(made.length >= 3 && made.length <= 4, `${made.join(", ")}`);
    assert.equal((await partitions()).length, before + made.length);
    assert.equal(await store.count("p2"), 2000);
  });

  test("an edit that moves a record to another month moves it to that partition (made if needed)", async () => {
    const [r] = await store.insert("p3", [rec("v", 1, new Date("2011-03-01T00:00:00Z"))]);
    assert.equal(await store.edit("p3", [{ id: r!.id, time: new Date("2160-03-01T00:00:00Z") }]), 1);
    assert.deepEqual((await where([Date.parse("2160-03-01T00:00:00Z")])).map((x) => x.part), ["data_records_after"]);
    assert.equal((await store.lastValue("p3", "v"))?.time.toISOString(), "2160-03-01T00:00:00.000Z");
  });
});

describe("several stores (nodes) on one database", () => {
  test("what one stores, the other reads; a device dropped on one gets a new bucket on the other", async () => {
    const url = await server.database();
    const a = await PgBucketStore.open(url, { retentionSweepMs: 0 });
    const b = await PgBucketStore.open(url, { retentionSweepMs: 0 });
    try {
      const t = new Date();
      await a.insert("shared", [rec("v", 1, t)]);
      assert.equal((await b.lastValue("shared", "v"))?.value, 1, "b's bucket id cache now holds the device");
      await a.dropDevice("shared");
      // b still has the old bucket id cached: its insert fails once (the bucket is gone), and
      // the next one makes a new bucket.
      await assert.rejects(b.insert("shared", [rec("v", 2, t)]), /bucket was removed/);
      await b.insert("shared", [rec("v", 3, t)]);
      assert.equal(await a.count("shared"), 1);
      assert.equal((await a.lastValue("shared", "v"))?.value, 3);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("inserts through two stores at once: every resolved record is stored, counts agree", async () => {
    const url = await server.database();
    const a = await PgBucketStore.open(url, { retentionSweepMs: 0 });
    const b = await PgBucketStore.open(url, { retentionSweepMs: 0 });
    try {
      const t0 = Date.now();
      const calls: Promise<StoredRecord[]>[] = [];
      for (let i = 0; i < 200; i++) calls.push((i % 2 ? a : b).insert(`d${i % 7}`, [rec("x", i, new Date(t0 + i)), rec("y", i, new Date(t0 + i))]));
      const stored = (await Promise.all(calls)).flat();
      assert.equal(stored.length, 400);
      assert.equal(new Set(stored.map((r) => r.id)).size, 400, "ids are unique across nodes");
      let total = 0;
      for (let d = 0; d < 7; d++) total += await a.count(`d${d}`);
      assert.equal(total, 400);
      const result = (await b.query("d0", parseDataQuery({ qty: "1000", variables: "x" }, new Date()))) as Extract<QueryResult, { type: "records" }>;
      assert.equal(result.records.length, stored.filter((r) => r.device === "d0" && r.variable === "x").length);
      assert.equal((await a.lastValue("d0", "x"))?.value, 196, "the newest by time, whichever node stored it");
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("the retention sweep runs on the nodes that have one, one at a time, and trims by age", async () => {
    const url = await server.database();
    const errors: unknown[] = [];
    const a = await PgBucketStore.open(url, { retentionSweepMs: 100, onError: (e) => errors.push(e) });
    const b = await PgBucketStore.open(url, { retentionSweepMs: 100, onError: (e) => errors.push(e) });
    try {
      const now = Date.now();
      await a.insert("old", [rec("v", 1, new Date(now - 10 * 86_400_000)), rec("v", 2, new Date(now - 86_400_000))]);
      await b.setRetention("old", { days: 5 });
      const deadline = Date.now() + 10_000;
      while ((await a.count("old")) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await a.count("old"), 1);
      assert.equal((await b.lastValue("old", "v"))?.value, 2);
      assert.deepEqual(errors, []);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("an insert resolves only after its transaction committed: another connection sees it at once", async () => {
    const url = await server.database();
    const a = await PgBucketStore.open(url, { retentionSweepMs: 0 });
    try {
      const stored = await a.insert("acked", [rec("v", 42, new Date())]);
      const rows = await sql<{ n: string }>(url, "SELECT count(*) AS n FROM data_records r JOIN data_buckets b ON b.id = r.bucket WHERE b.device = 'acked'");
      assert.equal(Number(rows[0]!.n), stored.length);
    } finally {
      await a.close();
    }
  });
});

describe("bucket ids", () => {
  test("a commit looks its devices' buckets up together, once each", async () => {
    const url = await server.database();
    const pool = openPool(url, { max: 8 });
    await migratePg(pool);
    // Counts the bucket upserts the store sends through its (real) pool.
    let upserts = 0;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      if (typeof args[0] === "string" && args[0].startsWith("INSERT INTO data_buckets")) upserts++;
      return query(...args);
    };
    const store = await PgBucketStore.create(pool, { retentionSweepMs: 0 });
    try {
      const t = new Date();
      // 64 calls at once: a QoS 1 window of one connection, all in the device's first commit.
      await Promise.all(Array.from({ length: 64 }, (_, i) => store.insert("fresh", [rec("v", i, t)])));
      assert.equal(await store.count("fresh"), 64);
      assert.equal(upserts, 1);
      // 50 new devices at once: their first commits (one per lane) make the buckets in one statement each.
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.insert(`new-${i}`, [rec("v", i, t)])));
      assert.ok(upserts - 1 <= 4, `${upserts - 1} upserts for 50 new devices in 4 lanes`);
      for (let i = 0; i < 50; i += 7) assert.equal(await store.count(`new-${i}`), 1);
      // Known to the database, not to this store (another node made them): read, not upserted.
      const other = await PgBucketStore.open(url, { retentionSweepMs: 0 });
      try {
        await Promise.all(Array.from({ length: 10 }, (_, i) => other.insert(`new-${i}`, [rec("v", 100 + i, t)])));
      } finally {
        await other.close();
      }
      assert.equal(await store.count("new-3"), 2);
    } finally {
      await store.close();
      await pool.end();
    }
  });
});

describe("insert commits", () => {
  // Text that COPY's format and array literals both have to escape or quote.
  const awkward = ["tab\there", "line\nbreak", "cr\rhere", "back\\slash", "\\N", 'quote"d', "{braces},comma", "NULL", "", " spaced ", "ünï ✓ 🚀"];
  const records = (t0: number): NormalizedRecord[] => [
    ...awkward.map((s, i): NormalizedRecord => ({ variable: "s", value: s, unit: s, time: new Date(t0 + i), group: s === "" ? "g" : s, location: null, metadata: null })),
    ...[0, -1.5, 1e21, 2 ** 53 - 1, 1e-7].map((n, i): NormalizedRecord => ({
      variable: "n", value: n, unit: null, time: new Date(t0 + i), group: "g", location: { lat: -33.5 + i, lng: 151.25 }, metadata: { note: awkward[i]!, nested: { q: '"' } },
    })),
    { variable: "b", value: true, unit: null, time: new Date(t0), group: "g", location: null, metadata: null },
    { variable: "b", value: false, unit: null, time: new Date(t0 + 1), group: "g", location: null, metadata: null },
    { variable: "none", value: null, unit: "u", time: new Date(t0), group: "g", location: { lat: 0, lng: 0 }, metadata: { only: "metadata" } },
  ];
  const asGiven = (r: NormalizedRecord | StoredRecord) => [r.variable, r.value, r.unit, r.time.getTime(), r.group, r.location, r.metadata];

  for (const method of ["copy", "unnest"] as const) {
    test(`${method}: every kind of value, and text that needs escaping, reads back as given`, async () => {
      const url = await server.database();
      const store = await PgBucketStore.open(url, { retentionSweepMs: 0, insertMethod: method });
      try {
        const given = records(Date.UTC(2026, 5, 1));
        const stored = await store.insert("awkward", given);
        assert.deepEqual(stored.map(asGiven), given.map(asGiven));
        const result = (await store.query("awkward", parseDataQuery({ qty: "1000", ordination: "ascending" }, new Date()))) as Extract<QueryResult, { type: "records" }>;
        const byId = new Map(result.records.map((r) => [r.id, r]));
        assert.equal(byId.size, given.length);
        assert.deepEqual(stored.map((r) => asGiven(byId.get(r.id)!)), given.map(asGiven));
        assert.equal((await store.lastValue("awkward", "s"))?.value, awkward.at(-1));
      } finally {
        await store.close();
      }
    });
  }

  for (const method of ["copy", "unnest"] as const) {
    test(`${method}: a commit PostgreSQL refuses is rolled back; the batch's other calls are stored alone, and the next commit works`, async () => {
      const url = await server.database();
      // One lane: the three calls share a commit.
      const store = await PgBucketStore.open(url, { retentionSweepMs: 0, insertMethod: method, commitLanes: 1 });
      try {
        const t = new Date();
        const text = (value: string): NormalizedRecord => ({ variable: "s", value, unit: null, time: t, group: "g", location: null, metadata: null });
        // PostgreSQL's text holds no NUL: the shared commit fails, then this call alone.
        const results = await Promise.allSettled([store.insert("r1", [text("a")]), store.insert("r2", [text("nul\u0000here")]), store.insert("r3", [text("c")])]);
        assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
        assert.deepEqual([await store.count("r1"), await store.count("r2"), await store.count("r3")], [1, 0, 1]);
        await store.insert("r2", [text("fine")]);
        assert.equal((await store.lastValue("r2", "s"))?.value, "fine");
        assert.equal(Number((await sql<{ n: string }>(url, "SELECT count(*) AS n FROM data_records"))[0]!.n), 3, "nothing of the refused commits is left");
      } finally {
        await store.close();
      }
    });
  }

  for (const method of ["copy", "unnest"] as const) {
    test(`${method}: a batch past one COPY buffer (256 KiB), a string past one, and times before 1970 read back whole`, async () => {
      const url = await server.database();
      const store = await PgBucketStore.open(url, { retentionSweepMs: 0, insertMethod: method });
      try {
        const long = "€".repeat(100_000); // 300 000 bytes of UTF-8
        const given: NormalizedRecord[] = [
          { variable: "long", value: long, unit: "€", time: new Date(-1), group: "g", location: null, metadata: null },
          { variable: "old", value: -2, unit: null, time: new Date(Date.UTC(1901, 0, 1)), group: "g", location: { lat: -90, lng: -180 }, metadata: null },
          ...Array.from({ length: 4000 }, (_, i): NormalizedRecord => ({
            variable: `v${i % 5}`, value: i - 2000.25, unit: "u", time: new Date(Date.UTC(2026, 5, 1) + i), group: "g", location: null, metadata: { i },
          })),
        ];
        const stored = await store.insert("big", given);
        assert.equal(await store.count("big"), given.length);
        assert.equal((await store.lastValue("big", "long"))?.value, long);
        const old = (await store.query("big", parseDataQuery({ variables: "old", start_date: "1900-01-01T00:00:00Z", end_date: "1902-01-01T00:00:00Z" }, new Date()))) as Extract<QueryResult, { type: "records" }>;
        assert.deepEqual(old.records.map((r) => [r.id, r.value, r.time.getTime(), r.location]), [[stored[1]!.id, -2, Date.UTC(1901, 0, 1), { lat: -90, lng: -180 }]]);
        const rows = await sql<{ seq: string; num: number | null; time: string; metadata: string | null }>(url, "SELECT seq, num, time, metadata FROM data_records ORDER BY seq");
        assert.deepEqual(rows.map((r) => [Number(r.seq), r.num, Number(r.time), r.metadata]),
          stored.map((r) => [seqOf(r.id), typeof r.value === "number" ? r.value : null, r.time.getTime(), r.metadata === null ? null : JSON.stringify(r.metadata)]));
      } finally {
        await store.close();
      }
    });
  }

  test("seqs drawn with gaps between them (as when another node draws meanwhile): each record keeps its own", async () => {
    const url = await server.database();
    const store = await PgBucketStore.open(url, { retentionSweepMs: 0 });
    try {
      await store.insert("gaps", [rec("v", -1, new Date())]);
      // Every value one apart from the last: each record's seq a run of its own.
      await sql(url, "ALTER SEQUENCE data_records_seq INCREMENT BY 3");
      const t0 = Date.now();
      const stored = (await Promise.all(Array.from({ length: 20 }, (_, i) => store.insert("gaps", [rec("v", 2 * i, new Date(t0 + i)), rec("w", 2 * i + 1, new Date(t0 + i))])))).flat();
      const seqs = stored.map((r) => seqOf(r.id)!);
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i]! - seqs[i - 1]!, 3, "seqs in call order, as drawn");
      const rows = await sql<{ seq: number; num: number }>(url, "SELECT seq, num FROM data_records WHERE num >= 0 ORDER BY seq");
      assert.deepEqual(rows.map((r) => [Number(r.seq), r.num]), stored.map((r) => [seqOf(r.id), r.value]));
    } finally {
      await store.close();
    }
  });
});
