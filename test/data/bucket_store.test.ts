import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseDataQuery, type DataQuery } from "../../src/data/query.js";
import { lastByVariableSql as pgLastByVariableSql, mergedPageSql, Params } from "../../src/data/postgres/bucket_queries.js";
import { lastByVariableSql } from "../../src/data/sqlite/bucket_queries.js";
import { InsertBatcher } from "../../src/data/sqlite/insert_batcher.js";
import type { NormalizedRecord, QueryResult, RecordValue, StoredRecord } from "../../src/data/types.js";
import { validateRecords } from "../../src/data/validate.js";
import { parseQueryString } from "../../src/http/query.js";
import { backends, type BackendHandle, type TestBucketStore } from "../helpers/backends.js";
import { explainPg } from "../helpers/pg_explain.js";

// The BucketStore contract, run once per backend (test/helpers/backends.ts): a real SQLite file
// in a temp dir, and a real PostgreSQL of this file's own. A few checks of one backend's query
// plans run only there.

const T0 = Date.parse("2024-01-01T00:00:00.000Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

function rec(variable: string, value: RecordValue | null, minutes: number, extra: Partial<NormalizedRecord> = {}): NormalizedRecord {
  return { variable, value, unit: null, time: at(minutes), group: "g", location: null, metadata: null, ...extra };
}

const q = (qs: string): DataQuery => parseDataQuery(parseQueryString(qs), new Date(T0 + 86_400_000 * 400));
const values = (list: StoredRecord[]) => list.map((r) => r.value);

describe("InsertBatcher", () => {
  test("one commit per tick, one call retried alone when the shared commit throws", async () => {
    const commits: number[][] = [];
    const batcher = new InsertBatcher<number, string>(
      (inputs) => {
        commits.push(inputs);
        if (inputs.includes(13)) throw new Error("unlucky");
        return inputs.map((n) => `ok ${n}`);
      },
      { maxUnits: 1000, units: () => 1 },
    );
    const results = await Promise.allSettled([1, 13, 2].map((n) => batcher.submit(n)));
    assert.deepEqual(commits, [[1, 13, 2], [1], [13], [2]]);
    assert.deepEqual(results.map((r) => (r.status === "fulfilled" ? r.value : "failed")), ["ok 1", "failed", "ok 2"]);
    await Promise.all([batcher.submit(3), batcher.submit(4)]);
    assert.deepEqual(commits.at(-1), [3, 4]);
  });
});


for (const h0 of backends()) {
  describe(`BucketStore on ${h0.name}`, () => {
  let h: BackendHandle;
  let store: TestBucketStore;
  let seq = 0;
  const device = () => `dev${++seq}`;

  before(async () => {
    h = await h0.start();
    store = await h.buckets();
  });
  after(async () => {
    await h.stop();
  });

  async function records(deviceId: string, qs: string): Promise<StoredRecord[]> {
    const result = await store.query(deviceId, q(qs));
    assert.equal(result.type, "records");
    return (result as Extract<QueryResult, { type: "records" }>).records;
  }
  async function number(deviceId: string, qs: string): Promise<number | null> {
    const result = await store.query(deviceId, q(qs));
    assert.equal(result.type, "number");
    return (result as Extract<QueryResult, { type: "number" }>).value;
  }

  describe("insert", () => {
    test("returns the stored records with id, device and createdAt, in order", async () => {
      const d = device();
      const before = Date.now();
      const stored = await store.insert(d, [rec("temp", 1, 0, { unit: "C", metadata: { a: 1 }, location: { lat: 1, lng: 2 } }), rec("temp", 2, 1)]);
      assert.equal(stored.length, 2);
      assert.match(stored[0]!.id, /^[0-9a-f]{24}$/);
      assert.notEqual(stored[0]!.id, stored[1]!.id);
      assert.equal(stored[0]!.device, d);
      assert.ok(stored[0]!.createdAt.getTime() >= before - 1000);
      const read = await records(d, "qty=10&ordination=ascending");
      assert.deepEqual(read.map((r) => r.id), stored.map((r) => r.id));
      assert.deepEqual(read[0], stored[0], "what is read back equals what insert returned");
      assert.equal(await store.count(d), 2);
    });

    test("calls made in the same tick share one commit (one createdAt) and each gets its own records", async () => {
      // One commit lane (PostgreSQL spreads devices over several, each a group commit of its own).
      const store = await h.buckets({ commitLanes: 1 });
      const d1 = device();
      const d2 = device();
      const [a, b, c] = await Promise.all([
        store.insert(d1, [rec("x", 1, 0)]),
        store.insert(d2, [rec("x", 2, 0), rec("y", 3, 0)]),
        store.insert(d1, [rec("x", 4, 1)]),
      ]);
      assert.deepEqual(values(a!), [1]);
      assert.deepEqual(values(b!), [2, 3]);
      assert.deepEqual(values(c!), [4]);
      const created = new Set([...a!, ...b!, ...c!].map((r) => r.createdAt.getTime()));
      assert.equal(created.size, 1);
      assert.equal(await store.count(d1), 2);
      assert.equal(await store.count(d2), 2);
      await store.close();
    });

    test("a device's calls made at once commit in the order made (PostgreSQL: in its lane), across many devices", async () => {
      const devices = Array.from({ length: 12 }, () => device());
      const calls = devices.flatMap((d) => Array.from({ length: 5 }, (_, i) => store.insert(d, [rec("n", i, 0)])));
      await Promise.all(calls);
      for (const d of devices) {
        assert.deepEqual(values(await records(d, "query=last_insert&variables=n")), [4], d);
        const ids = (await records(d, "variables=n&qty=10&ordination=ascending")).map((r) => r.id);
        assert.deepEqual(values(await records(d, "variables=n&qty=10&ordination=ascending")), [0, 1, 2, 3, 4], "same time: insertion order");
        assert.equal(new Set(ids).size, 5);
      }
    });

    test("a call that fails is stored not at all, and the calls batched with it are stored whole", async () => {
      const good1 = device();
      const bad = device();
      const good2 = device();
      // Validation would refuse this value; bypassing it makes the failure happen inside the
      // shared transaction, which must then be retried call by call.
      const broken = { ...rec("v", 1, 0), value: { not: "storable" } as unknown as RecordValue };
      const results = await Promise.allSettled([
        store.insert(good1, [rec("v", 1, 0), rec("v", 2, 1)]),
        store.insert(bad, [rec("v", 1, 0), broken]),
        store.insert(good2, [rec("v", 3, 0)]),
      ]);
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
      assert.equal(await store.count(good1), 2);
      assert.equal(await store.count(bad), 0);
      assert.deepEqual(await records(bad, ""), [], "the good record of the failed call is not stored either");
      assert.equal(await store.count(good2), 1);
      assert.equal((await store.lastValue(bad, "v")), undefined);
    });

    test("more than maxBatchRecords waiting commits at once, and everything still resolves", async () => {
      const small = await h.buckets({ maxBatchRecords: 10 });
      const d = device();
      const calls = Array.from({ length: 25 }, (_, i) => small.insert(d, [rec("n", i, i)]));
      const stored = await Promise.all(calls);
      assert.deepEqual(stored.map((s) => s[0]!.value), Array.from({ length: 25 }, (_, i) => i));
      assert.equal(await small.count(d), 25);
      await small.close();
    });

    test("the data survives reopening the store", async () => {
      const d = device();
      await store.insert(d, [rec("persist", 42, 0)]);
      const again = await h.buckets();
      assert.equal((await again.lastValue(d, "persist"))?.value, 42);
      assert.equal(await again.count(d), 1);
      await again.close();
    });
  });

  describe("list queries", () => {
    let d: string;
    before(async () => {
      d = device();
      const batch: NormalizedRecord[] = [];
      for (let i = 0; i < 20; i++) batch.push(rec("temp", i, i, { group: i % 2 === 0 ? "even" : "odd" }));
      for (let i = 0; i < 5; i++) batch.push(rec("hum", 100 + i, i + 0.5));
      batch.push(rec("state", "on", 30), rec("state", true, 31), rec("state", "10", 32));
      await store.insert(d, batch);
    });

    test("default: newest first, 15 records", async () => {
      const list = await records(d, "");
      assert.equal(list.length, 15);
      assert.deepEqual(list.slice(0, 3).map((r) => r.value), ["10", true, "on"]);
    });

    test("qty, skip and ordination page through in time order", async () => {
      assert.deepEqual(values(await records(d, "variables=temp&qty=3")), [19, 18, 17]);
      assert.deepEqual(values(await records(d, "variables=temp&qty=3&skip=3")), [16, 15, 14]);
      assert.deepEqual(values(await records(d, "variables=temp&qty=3&ordination=ascending")), [0, 1, 2]);
    });

    test("with several variables, qty applies per variable and the result is merged by time", async () => {
      const list = await records(d, "variables[0]=temp&variables[1]=hum&qty=2");
      assert.deepEqual(list.map((r) => `${r.variable}:${r.value}`), ["temp:19", "temp:18", "hum:104", "hum:103"]);
      const asc = await records(d, "variables[0]=temp&variables[1]=hum&qty=2&ordination=ascending");
      assert.deepEqual(asc.map((r) => `${r.variable}:${r.value}`), ["temp:0", "hum:100", "temp:1", "hum:101"]);
    });

    test("groups, ids, values, and date ranges filter", async () => {
      assert.deepEqual(values(await records(d, "variables=temp&groups=odd&qty=3")), [19, 17, 15]);
      const some = await records(d, "variables=temp&qty=2");
      assert.deepEqual((await records(d, `ids[0]=${some[0]!.id}&ids[1]=${some[1]!.id}`)).map((r) => r.id), some.map((r) => r.id));
      assert.deepEqual(await records(d, "ids=not-an-id"), [], "unknown ids select nothing");
      assert.deepEqual(values(await records(d, "values=on")), ["on"]);
      assert.deepEqual(values(await records(d, "values=true")), [true], "a string matches the boolean it spells");
      assert.deepEqual(values(await records(d, "values=10")), ["10", 10], "and the number it spells");
      const range = `start_date=${at(5).toISOString()}&end_date=${at(7).toISOString()}&variables=temp`;
      assert.deepEqual(values(await records(d, range)), [7, 6, 5], "bounds are inclusive");
    });

    test("without variables, pages cut through the merged variables in time order", async () => {
      const all = await records(d, "qty=100&ordination=ascending");
      assert.equal(all.length, 28);
      const times = all.map((r) => r.time.getTime());
      assert.deepEqual(times, [...times].sort((a, b) => a - b));
      for (const [qty, skip] of [[5, 0], [5, 3], [7, 20], [10, 25]] as const) {
        const page = await records(d, `qty=${qty}&skip=${skip}&ordination=ascending`);
        assert.deepEqual(page.map((r) => r.id), all.slice(skip, skip + qty).map((r) => r.id), `qty=${qty} skip=${skip}`);
      }
      const desc = await records(d, "qty=4&skip=2");
      assert.deepEqual(desc.map((r) => r.id), [...all].reverse().slice(2, 6).map((r) => r.id));
    });

    test("without variables, first_*, min, max and date-bounded counts are over the whole bucket", async () => {
      assert.deepEqual(values(await records(d, "query=first_item")), [0]);
      assert.deepEqual(values(await records(d, `query=last_item&end_date=${at(20).toISOString()}`)), [19]);
      assert.deepEqual(values(await records(d, "query=min")), [0]);
      assert.deepEqual(values(await records(d, "query=max")), [104]);
      assert.equal(await number(d, `query=count&start_date=${at(2).toISOString()}&end_date=${at(4).toISOString()}`), 5, "temp 2,3,4 and hum at 2.5, 3.5");
      assert.equal(await number(d, `query=sum&start_date=${at(2).toISOString()}&end_date=${at(4).toISOString()}`), 2 + 3 + 4 + 102 + 103);
    });

    if (h0.name === "sqlite") {
      const plan = async (sql: string, params: unknown[]) =>
        (await h.rows<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail).join("; ");

      test("group lookups use the group index", async () => {
        const sql = "SELECT * FROM data_records INDEXED BY data_records_by_group WHERE bucket = ? AND grp IN (?) ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?";
        assert.match(await plan(sql, [1, "g", 15, 0]), /SEARCH data_records USING INDEX data_records_by_group \(grp=\? AND bucket=\?\)/);
      });

      test("the list statements use an index in the asked order (no scan, no sort)", async () => {
        const byVariable = await plan("SELECT * FROM data_records WHERE bucket = ? AND variable = ? ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?", [1, "temp", 15, 0]);
        assert.match(byVariable, /SEARCH data_records USING INDEX data_records_by_variable/);
        assert.doesNotMatch(byVariable, /TEMP B-TREE|SCAN/);
      });
    }

    if (h0.name === "postgres") {
      test("a page of one variable walks the record index in the asked order (no sort)", async () => {
        const text = await explainPg(h.url!, "SELECT seq FROM data_records WHERE bucket = $1 AND variable = $2 ORDER BY time DESC, seq DESC LIMIT 15", [1, "temp"]);
        assert.match(text, /Index (Only )?Scan Backward using data_records_\w+_bucket_variable_time_seq_idx|Index (Only )?Scan Backward using \w*by_variable/);
        assert.doesNotMatch(text, /\bSort\b/);
      });

      test("a page across variables merges their index ranges (Merge Append, no sort of the bucket)", async () => {
        const p = new Params();
        const { sql } = mergedPageSql(p, 1, {}, [{ variables: ["temp"] }, { variables: ["hum"] }], "DESC");
        const text = await explainPg(h.url!, `${sql} ORDER BY time DESC, seq DESC LIMIT 15 OFFSET 5`, p.values);
        assert.match(text, /Merge Append/);
        assert.doesNotMatch(text, /^\s*->\s*Sort\b/m);
      });
    }
  });

  describe("last_* and first_*", () => {
    let d: string;
    before(async () => {
      d = device();
      await store.insert(d, [
        rec("gps", 1, 0, { location: { lat: 1, lng: 1 } }),
        rec("gps", 2, 10),
        rec("gps", null, 20, { location: { lat: 3, lng: 3 } }),
        rec("temp", 5, 0),
        rec("temp", 7, 30),
        rec("temp", null, 40),
      ]);
      // Inserted last but stamped earliest: last_insert differs from last_item.
      await store.insert(d, [rec("temp", 3, -100)]);
    });

    test("last_item: newest by time, one per requested variable", async () => {
      assert.deepEqual((await records(d, "query=last_item&variables=temp")).map((r) => r.time.getTime()), [at(40).getTime()]);
      const both = await records(d, "query=last_item&variables[0]=temp&variables[1]=gps");
      assert.deepEqual(both.map((r) => r.variable), ["temp", "gps"]);
      assert.equal((await records(d, "query=last_item"))[0]!.time.getTime(), at(40).getTime(), "without variables: the device's newest");
    });

    test("last_value, last_location, last_insert", async () => {
      assert.deepEqual(values(await records(d, "query=last_value&variables=temp")), [7]);
      assert.deepEqual((await records(d, "query=last_location&variables=gps"))[0]!.location, { lat: 3, lng: 3 });
      assert.deepEqual(values(await records(d, "query=last_insert&variables=temp")), [3]);
      assert.deepEqual(values(await records(d, "query=last_insert")), [3]);
      assert.equal((await store.lastValue(d, "temp"))?.value, 7);
      assert.equal((await store.lastValue(d, "TEMP"))?.value, 7);
      assert.equal(await store.lastValue(d, "missing"), undefined);
    });

    test("first_item, first_value, first_location, first_insert", async () => {
      assert.deepEqual(values(await records(d, "query=first_item&variables=temp")), [3]);
      assert.deepEqual(values(await records(d, "query=first_value&variables=gps")), [1]);
      assert.deepEqual((await records(d, "query=first_location&variables=gps"))[0]!.location, { lat: 1, lng: 1 });
      assert.deepEqual(values(await records(d, "query=first_insert&variables=temp")), [5]);
    });

    test("with other filters last_* searches the records instead of the cache", async () => {
      assert.deepEqual(values(await records(d, `query=last_value&variables=temp&end_date=${at(20).toISOString()}`)), [5]);
      assert.deepEqual(await records(d, "query=last_item&variables=nothing"), []);
    });

    if (h0.name === "sqlite") {
      test("last_value reads data_last by primary key: no scan (EXPLAIN QUERY PLAN)", async () => {
        const plan = (await h.rows<{ detail: string }>(`EXPLAIN QUERY PLAN ${lastByVariableSql("value")}`, [1, "temp"])).map((r) => r.detail);
        assert.ok(plan.some((p) => /SEARCH l USING PRIMARY KEY \(bucket=\? AND variable=\?\)/.test(p)), plan.join("; "));
        assert.ok(plan.some((p) => /SEARCH r USING INTEGER PRIMARY KEY \(rowid=\?\)/.test(p)), plan.join("; "));
        assert.ok(!plan.some((p) => /\bSCAN\b/.test(p)), plan.join("; "));
      });
    }

    if (h0.name === "postgres") {
      test("last_value reads data_last by primary key, then one record by index (no scan)", async () => {
        const text = await explainPg(h.url!, pgLastByVariableSql("value"), [1, "temp"]);
        assert.match(text, /Index Scan using data_last_pkey/);
        assert.doesNotMatch(text, /Seq Scan/);
      });
    }
  });

  describe("summaries", () => {
    let d: string;
    before(async () => {
      d = device();
      // temp: 1..6 over two days and two hours a day; a string and a boolean that numeric kinds ignore.
      await store.insert(d, [
        rec("temp", 1, 0), rec("temp", 2, 30), rec("temp", 3, 60),
        rec("temp", 4, 24 * 60), rec("temp", 5, 24 * 60 + 1), rec("temp", 6, 24 * 60 + 90),
        rec("temp", "n/a", 5), rec("temp", true, 6),
        rec("hum", 50, 0), rec("hum", 70, 60),
      ]);
    });
    const since = `start_date=${at(-1).toISOString()}`;

    test("min and max return the record, one per variable", async () => {
      assert.deepEqual(values(await records(d, "query=min&variables=temp")), [1]);
      assert.deepEqual(values(await records(d, "query=max&variables=temp")), [6]);
      assert.deepEqual((await records(d, "query=max&variables[0]=temp&variables[1]=hum")).map((r) => `${r.variable}:${r.value}`).sort(), ["hum:70", "temp:6"]);
      assert.deepEqual(await records(d, "query=min&variables=none"), []);
    });

    test("count: the whole bucket from its counter, or what the filter selects", async () => {
      assert.equal(await number(d, "query=count"), 10);
      assert.equal(await number(d, "query=count&variables=temp"), 8);
      assert.equal(await number(d, `query=count&variables=temp&end_date=${at(60).toISOString()}`), 5);
      assert.equal(await number("never-stored", "query=count"), 0);
    });

    test("avg and sum over numeric values", async () => {
      assert.equal(await number(d, `query=avg&variables=temp&${since}`), 3.5);
      assert.equal(await number(d, `query=sum&variables=temp&${since}`), 21);
      assert.equal(await number(d, `query=sum&variables=hum&start_date=${at(30).toISOString()}`), 70);
      assert.equal(await number(d, `query=avg&variables=none&${since}`), null, "no average over nothing");
      assert.equal(await number(d, `query=sum&variables=none&${since}`), 0);
    });

    async function buckets(qs: string) {
      const result = await store.query(d, q(qs));
      assert.equal(result.type, "buckets");
      return (result as Extract<QueryResult, { type: "buckets" }>).buckets.map((b) => `${b.time.toISOString()} ${b.variable}=${b.value}`);
    }

    test("aggregate by hour and day, each function, one bucket per interval starting at its start", async () => {
      assert.deepEqual(await buckets("query=aggregate&interval=day&function=avg&variables=temp&ordination=ascending"), [
        "2024-01-01T00:00:00.000Z temp=2", "2024-01-02T00:00:00.000Z temp=5",
      ]);
      assert.deepEqual(await buckets("query=aggregate&interval=hour&function=sum&variables=temp&ordination=ascending"), [
        "2024-01-01T00:00:00.000Z temp=3", "2024-01-01T01:00:00.000Z temp=3", "2024-01-02T00:00:00.000Z temp=9", "2024-01-02T01:00:00.000Z temp=6",
      ]);
      assert.deepEqual(await buckets("query=aggregate&interval=day&function=min&variables=temp"), ["2024-01-02T00:00:00.000Z temp=4", "2024-01-01T00:00:00.000Z temp=1"]);
      assert.deepEqual(await buckets("query=aggregate&interval=day&function=max&variables=temp&qty=1"), ["2024-01-02T00:00:00.000Z temp=6"]);
      assert.deepEqual(await buckets("query=aggregate&interval=minute&function=max&variables=hum&ordination=ascending"), [
        "2024-01-01T00:00:00.000Z hum=50", "2024-01-01T01:00:00.000Z hum=70",
      ]);
    });

    test("aggregate by month, quarter and year use calendar boundaries (UTC)", async () => {
      const cal = device();
      await store.insert(cal, [
        rec("e", 1, 0, { time: new Date("2024-01-15T10:00:00Z") }),
        rec("e", 2, 0, { time: new Date("2024-03-31T23:59:59Z") }),
        rec("e", 4, 0, { time: new Date("2024-04-01T00:00:00Z") }),
        rec("e", 8, 0, { time: new Date("2024-12-31T12:00:00Z") }),
        rec("e", 16, 0, { time: new Date("2025-02-01T00:00:00Z") }),
      ]);
      const agg = async (interval: string) => {
        const result = await store.query(cal, q(`query=aggregate&interval=${interval}&function=sum&ordination=ascending`));
        assert.equal(result.type, "buckets");
        return (result as Extract<QueryResult, { type: "buckets" }>).buckets.map((b) => `${b.time.toISOString().slice(0, 10)}=${b.value}`);
      };
      assert.deepEqual(await agg("month"), ["2024-01-01=1", "2024-03-01=2", "2024-04-01=4", "2024-12-01=8", "2025-02-01=16"]);
      assert.deepEqual(await agg("quarter"), ["2024-01-01=3", "2024-04-01=4", "2024-10-01=8", "2025-01-01=16"]);
      assert.deepEqual(await agg("year"), ["2024-01-01=15", "2025-01-01=16"]);
    });

    test("conditional: numeric comparisons from start_date", async () => {
      const cond = async (fn: string, value: number) => values(await records(d, `query=conditional&variables=temp&function=${fn}&value=${value}&${since}&ordination=ascending`));
      assert.deepEqual(await cond("gt", 4), [5, 6]);
      assert.deepEqual(await cond("gte", 4), [4, 5, 6]);
      assert.deepEqual(await cond("lt", 2), [1]);
      assert.deepEqual(await cond("lte", 2), [1, 2]);
      assert.deepEqual(await cond("eq", 3), [3]);
      assert.deepEqual(await cond("ne", 3), [1, 2, 4, 5, 6]);
    });
  });

  describe("edit", () => {
    test("changes the given fields only, skips unknown ids, and keeps last_value right", async () => {
      const d = device();
      const [a, b] = await store.insert(d, [rec("t", 1, 0, { unit: "C", metadata: { k: 1 } }), rec("t", 2, 10)]);
      assert.equal((await store.lastValue(d, "t"))?.value, 2);
      const changed = await store.edit(d, [
        { id: a!.id, value: 9, time: at(20), metadata: null },
        { id: "0".repeat(24) },
        { id: "nonsense" },
      ]);
      assert.equal(changed, 1);
      const [edited] = await records(d, `ids=${a!.id}`);
      assert.equal(edited!.value, 9);
      assert.equal(edited!.unit, "C", "untouched fields stay");
      assert.equal(edited!.metadata, null, "null clears");
      assert.equal(edited!.time.getTime(), at(20).getTime());
      assert.equal((await store.lastValue(d, "t"))?.id, a!.id, "now the newest by time");
      await store.edit(d, [{ id: a!.id, value: null }]);
      assert.equal((await store.lastValue(d, "t"))?.id, b!.id, "a record without a value is not a last value");
    });

    test("another device's record cannot be edited", async () => {
      const mine = device();
      const theirs = device();
      const [r] = await store.insert(theirs, [rec("t", 1, 0)]);
      assert.equal(await store.edit(mine, [{ id: r!.id, value: 2 }]), 0);
      assert.equal((await store.lastValue(theirs, "t"))?.value, 1);
    });
  });

  describe("remove", () => {
    test("by ids, by filter, by last_item; the count and last values follow", async () => {
      const d = device();
      const stored = await store.insert(d, Array.from({ length: 10 }, (_, i) => rec("t", i, i)));
      assert.equal(await store.remove(d, q(`ids[0]=${stored[0]!.id}&ids[1]=${stored[1]!.id}`)), 2);
      assert.equal(await store.count(d), 8);
      assert.equal(await store.remove(d, q("query=last_item&variables=t")), 1);
      assert.equal((await store.lastValue(d, "t"))?.value, 8, "the cache moved to the next newest");
      assert.deepEqual(values(await records(d, "query=last_insert&variables=t")), [8]);
      assert.equal(await store.remove(d, q(`variables=t&end_date=${at(4).toISOString()}`)), 3);
      assert.deepEqual(values(await records(d, "variables=t&ordination=ascending")), [5, 6, 7, 8]);
      assert.equal(await store.remove(d, q("")), 4, "no options: the newest 15");
      assert.equal(await store.count(d), 0);
      assert.equal(await store.lastValue(d, "t"), undefined);
    });

    test("summaries cannot select what to delete", async () => {
      await assert.rejects(store.remove(device(), q("query=count")), /query=count does not select records/);
    });

    test("another device's records are out of reach", async () => {
      const theirs = device();
      const [r] = await store.insert(theirs, [rec("t", 1, 0)]);
      assert.equal(await store.remove(device(), q(`ids=${r!.id}`)), 0);
      assert.equal(await store.count(theirs), 1);
    });
  });

  describe("retention", () => {
    test("by age: records older than `days` go, newer stay", async () => {
      const d = device();
      const now = Date.now();
      await store.insert(d, [
        rec("t", 1, 0, { time: new Date(now - 40 * 86_400_000) }),
        rec("t", 2, 0, { time: new Date(now - 31 * 86_400_000) }),
        rec("t", 3, 0, { time: new Date(now - 1 * 86_400_000) }),
      ]);
      assert.equal(await store.applyRetention(d, { days: 30 }), 2);
      assert.deepEqual(values(await records(d, "")), [3]);
      assert.equal(await store.count(d), 1);
      assert.equal((await store.lastValue(d, "t"))?.value, 3);
    });

    test("by age, across variables and in chunks", async () => {
      const chunked = await h.buckets({ deleteChunk: 2 });
      const d = device();
      const now = Date.now();
      const old = (days: number) => new Date(now - days * 86_400_000);
      await chunked.insert(d, ["a", "b", "c"].flatMap((v) => [rec(v, 1, 0, { time: old(10) }), rec(v, 2, 0, { time: old(9) }), rec(v, 3, 0, { time: old(8) }), rec(v, 4, 0, { time: old(1) })]));
      assert.equal(await chunked.applyRetention(d, { days: 5 }), 9);
      assert.deepEqual((await records(d, "ordination=ascending")).map((r) => `${r.variable}${r.value}`).sort(), ["a4", "b4", "c4"]);
      assert.equal(await chunked.count(d), 3);
      await chunked.insert(d, [rec("a", 5, 0, { time: old(0.5) }), rec("c", 5, 0, { time: old(0.2) })]);
      assert.equal(await chunked.applyRetention(d, { records: 2 }), 3, "by count, the oldest across variables go first");
      assert.deepEqual((await records(d, "ordination=ascending")).map((r) => `${r.variable}${r.value}`), ["a5", "c5"]);
      assert.deepEqual(values(await records(d, "query=last_value&variables=b")), [], "a variable left with no records leaves data_last");
      await chunked.close();
    });

    test("by count: the newest `records` stay, also in several chunks", async () => {
      const chunked = await h.buckets({ deleteChunk: 3 });
      const d = device();
      await chunked.insert(d, Array.from({ length: 20 }, (_, i) => rec("t", i, i)));
      assert.equal(await chunked.applyRetention(d, { records: 5 }), 15);
      assert.deepEqual(values(await chunked.query(d, q("variables=t&ordination=ascending")).then((r) => (r as Extract<QueryResult, { type: "records" }>).records)), [15, 16, 17, 18, 19]);
      assert.equal(await chunked.count(d), 5);
      assert.deepEqual(values(await records(d, "query=first_insert&variables=t")), [15]);
      await chunked.close();
    });

    test("a stored record limit is enforced after each commit", async () => {
      const d = device();
      await store.setRetention(d, { records: 3 });
      assert.deepEqual(await store.retention(d), { days: null, records: 3 });
      for (let i = 0; i < 5; i++) await store.insert(d, [rec("t", i, i)]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await store.count(d), 3);
      assert.deepEqual(values(await records(d, "ordination=ascending")), [2, 3, 4]);
      await store.setRetention(d, { records: null });
      assert.deepEqual(await store.retention(d), { days: null, records: null });
      await assert.rejects(store.setRetention(d, { days: 0 }), /retention days must be a positive integer/);
    });
  });

  describe("dropDevice", () => {
    test("removes the device's bucket and nothing else; the device may store again later", async () => {
      const gone = device();
      const kept = device();
      await store.insert(gone, Array.from({ length: 50 }, (_, i) => rec("t", i, i)));
      await store.insert(kept, [rec("t", 1, 0)]);
      await store.dropDevice(gone);
      assert.equal(await store.count(gone), 0);
      assert.deepEqual(await records(gone, ""), []);
      assert.equal(await store.lastValue(gone, "t"), undefined);
      assert.equal(await store.count(kept), 1);
      assert.equal(Number((await h.rows<{ n: number }>("SELECT count(*) AS n FROM data_dropped"))[0]!.n), 0, "the removal finished");
      await store.insert(gone, [rec("t", 99, 0)]);
      assert.deepEqual(values(await records(gone, "")), [99]);
    });
  });

  describe("pages bounded in bytes (maxBytes, data.maxPageBytes)", () => {
    const BOUND = 20_000;
    let d: string;
    before(async () => {
      d = device();
      const batch: NormalizedRecord[] = [];
      for (let i = 0; i < 60; i++) {
        for (const [k, variable] of ["a", "b", "c"].entries()) {
          // ~100 bytes to ~6 KB each, some of it escaped characters, some metadata; every fourth a number.
          const size = ((i * 7 + k * 13) % 11) * 600;
          const value = i % 4 === 0 ? i : k === 1 ? '\n"'.repeat(size / 12) : "x".repeat(size);
          batch.push(rec(variable, value, Math.floor(i / 2), i % 3 === 0 ? { metadata: { note: "\u0001".repeat(size / 6) } } : {}));
        }
      }
      await store.insert(d, batch);
    });
    const page = async (qs: string, bound = BOUND) => {
      const result = await store.query(d, parseDataQuery(parseQueryString(qs), new Date(T0 + 86_400_000 * 400), { maxPageBytes: bound }));
      assert.equal(result.type, "records");
      return result as Extract<QueryResult, { type: "records" }>;
    };
    async function pageThrough(qs: string, perVariable: boolean): Promise<StoredRecord[]> {
      const seen: StoredRecord[] = [];
      let cut = 0;
      for (let skip = 0; ; ) {
        const { records: got, truncated } = await page(`${qs}&qty=1000&skip=${skip}`);
        if (got.length === 0) break;
        if (truncated) cut++;
        seen.push(...got);
        const variables = new Set(got.map((r) => r.variable)).size;
        skip += perVariable ? got.length / variables : got.length;
        assert.ok(Number.isInteger(skip), "a cut page holds as many records of each variable");
      }
      assert.ok(cut > 0, "some pages were cut");
      assert.equal(new Set(seen.map((r) => r.id)).size, seen.length, "no record twice");
      return seen;
    }

    for (const ordination of ["descending", "ascending"]) {
      test(`one variable, across variables, and per variable, ${ordination}: every record once, pages cut`, async () => {
        assert.equal((await pageThrough(`variables=a&ordination=${ordination}`, false)).length, 60);
        const merged = await pageThrough(`ordination=${ordination}`, false);
        assert.equal(merged.length, 180);
        const times = merged.map((r) => r.time.getTime());
        assert.deepEqual(times, [...times].sort((x, y) => (ordination === "ascending" ? x - y : y - x)));
        assert.equal((await pageThrough(`variables[0]=a&variables[1]=b&ordination=${ordination}`, true)).length, 120);
      });
    }

    test("a page that fits is not marked; a record larger than the bound still comes alone", async () => {
      const small = await page("variables=a&qty=2");
      assert.equal(small.truncated, undefined);
      assert.equal(small.records.length, 2);
      const one = await page("variables=b&qty=50", 1);
      assert.equal(one.records.length, 1);
      assert.equal(one.truncated, true);
    });

    test("conditional pages by the same bound", async () => {
      const { records: got } = await page(`query=conditional&function=gte&value=0&start_date=${at(-1).toISOString()}&qty=1000`, 1500);
      assert.ok(got.length >= 1 && got.length < 45, `${got.length} of the 45 numeric records fit`);
      assert.ok(got.every((r) => typeof r.value === "number"));
    });
  });

  describe("validated input end to end", () => {
    test("validateRecords output stores and reads back unchanged", async () => {
      const d = device();
      const input = validateRecords([{ variable: "Loc", value: "here", location: { type: "Point", coordinates: [-85.6, 42.3] }, metadata: { m: [1, 2] }, unit: "u" }], new Date());
      const [stored] = await store.insert(d, input);
      const [read] = await records(d, "variables=loc");
      assert.deepEqual(read, stored);
      assert.deepEqual(read!.location, { lat: 42.3, lng: -85.6 });
    });
  });
  });
}
