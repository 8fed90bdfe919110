import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DEFAULT_MAX_SKIP, parseDataQuery } from "../../src/data/query.js";
import { mergedPageSql } from "../../src/data/sqlite/bucket_queries.js";
import { mergedPageSql as pgMergedPageSql, Params } from "../../src/data/postgres/bucket_queries.js";
import type { NormalizedRecord, QueryResult, StoredRecord } from "../../src/data/types.js";
import { parseQueryString } from "../../src/http/query.js";
import { backends, type BackendHandle, type TestBucketStore } from "../helpers/backends.js";
import { explainPg } from "../helpers/pg_explain.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Issue 10: "`GET /data?qty=1&skip=9e12` on 480 000 records: 1.8 s and +200 MiB". skip is
// bounded (data.maxSkip) and a page across variables is cut by SQLite from the index, not by
// sorting every variable's qty + skip records in JS.

const T0 = Date.parse("2024-01-01T00:00:00.000Z");
const VARIABLES = ["temp", "hum", "co2"];
const PER_VARIABLE = 1500;

for (const h0 of backends()) {
  describe(`skip on a bucket of a few thousand records, ${h0.name}`, () => {
    let h: BackendHandle;
    let store: TestBucketStore;
    /** Every record as stored, newest first (time, then insertion). */
    let all: StoredRecord[] = [];

    before(async () => {
      h = await h0.start();
      store = await h.buckets();
      // Variables interleaved in time, some sharing a timestamp (ordered by insertion then).
      const records: NormalizedRecord[] = [];
      for (let i = 0; i < PER_VARIABLE; i++) {
        VARIABLES.forEach((variable, v) => {
          records.push({ variable, value: i * 10 + v, unit: null, time: new Date(T0 + i * 1000 + (v === 2 ? 0 : v * 300)), group: "g", location: null, metadata: null });
        });
      }
      for (let i = 0; i < records.length; i += 500) await store.insert("dev", records.slice(i, i + 500));
      all = await page("qty=10000");
      assert.equal(all.length, VARIABLES.length * PER_VARIABLE);
    });
    after(async () => {
      await h.stop();
    });

    async function page(qs: string): Promise<StoredRecord[]> {
      const result: QueryResult = await store.query("dev", parseDataQuery(parseQueryString(qs), new Date(T0 + 86_400_000)));
      assert.equal(result.type, "records");
      return (result as Extract<QueryResult, { type: "records" }>).records;
    }

    test("the whole bucket is newest first across variables, ties by insertion", () => {
      for (let i = 1; i < all.length; i++) {
        const [a, b] = [all[i - 1]!, all[i]!];
        assert.ok(a.time.getTime() >= b.time.getTime(), `record ${i} is newer than the one before it`);
      }
    });

    test("a valid skip returns the records at that place, in both orders", async () => {
      assert.deepEqual(await page("qty=50&skip=1234"), all.slice(1234, 1284));
      const ascending = [...all].reverse();
      assert.deepEqual(await page("qty=50&skip=3000&ordination=asc"), ascending.slice(3000, 3050));
      assert.deepEqual(await page("qty=10&skip=4495"), all.slice(4495), "the last page is short");
      assert.deepEqual(await page("qty=10&skip=4500"), [], "past the end: nothing");
    });

    test("skip with filters still pages the filtered records", async () => {
      const start = new Date(T0 + 1000 * 1000);
      const expected = all.filter((r) => r.time.getTime() >= start.getTime() && typeof r.value === "number" && r.value > 12_000);
      assert.ok(expected.length > 300);
      const qs = `query=conditional&function=gt&value=12000&start_date=${start.toISOString()}&qty=100&skip=200`;
      assert.deepEqual(await page(qs), expected.slice(200, 300));
    });

    test("with a variables filter, skip applies per variable (TagoIO's rule)", async () => {
      const temps = all.filter((r) => r.variable === "temp");
      assert.deepEqual(await page("variables=temp&qty=5&skip=700"), temps.slice(700, 705));
    });

    if (h0.name === "sqlite") {
      test("the page is cut from the variables' index ranges, merged by SQLite: no table scan, no sort", async () => {
        const [{ id: bucket }] = await h.rows<{ id: number }>("SELECT id FROM data_buckets WHERE device = ?", ["dev"]);
        const filters = VARIABLES.map((variable) => ({ variables: [variable] }));
        const { sql, params } = mergedPageSql(bucket!, {}, filters, "DESC");
        const plan = (await h.rows<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, [...params, 1, 1000])).map((row) => row.detail);
        const text = plan.join("\n");
        assert.match(text, /MERGE \(UNION ALL\)/, text);
        const searches = plan.filter((line) => /SEARCH data_records USING COVERING INDEX data_records_by_variable \(bucket=\? AND variable=\?\)/.test(line));
        assert.equal(searches.length, VARIABLES.length, text);
        assert.doesNotMatch(text, /SCAN|TEMP B-TREE/, text);
      });
    }

    if (h0.name === "postgres") {
      test("the page is cut from the variables' index ranges, merged by PostgreSQL (Merge Append): no sort", async () => {
        const [{ id: bucket }] = await h.rows<{ id: number }>("SELECT id FROM data_buckets WHERE device = ?", ["dev"]);
        const p = new Params();
        const { sql } = pgMergedPageSql(p, bucket!, {}, VARIABLES.map((variable) => ({ variables: [variable] })), "DESC");
        const text = await explainPg(h.url!, `${sql} ORDER BY time DESC, seq DESC LIMIT 1 OFFSET 1000`, p.values);
        assert.match(text, /Merge Append/, text);
        assert.doesNotMatch(text, /Seq Scan|^\s*->\s*Sort\b/m, text);
      });
    }
  });
}

describe("GET /data refuses a skip past data.maxSkip", () => {
  let sluice: TestSluice;
  let token: string;
  before(async () => {
    sluice = await startSluice({ data: { maxSkip: 1000 } });
    ({ token } = await sluice.device());
  });
  after(() => sluice.close());

  const get = (qs: string) => fetch(`${sluice.api}/data?${qs}`, { headers: { authorization: token } });

  test("skip=9e12 and skip above the bound: 400 JSON naming the bound", async () => {
    for (const skip of ["9000000000000", "1001"]) {
      const response = await get(`qty=1&skip=${skip}`);
      assert.equal(response.status, 400);
      const body = (await response.json()) as { status: boolean; message: string };
      assert.equal(body.status, false);
      assert.match(body.message, /skip must be at most 1000 \(data\.maxSkip\)/);
    }
    const big = await get("qty=1&skip=9e12");
    assert.equal(big.status, 400, "not an integer either");
  });

  test("skip at the bound is served", async () => {
    const response = await get("qty=1&skip=1000");
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as { result: unknown }).result, []);
  });

  test("the default bound is 100 000", () => {
    assert.equal(DEFAULT_MAX_SKIP, 100_000);
    assert.throws(() => parseDataQuery({ skip: "100001" }, new Date()), /at most 100000/);
    assert.equal(parseDataQuery({ skip: "100000" }, new Date()).kind, "list");
  });
});
