import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// data.maxPageBytes: a page of records is cut once its JSON would pass the bound, and says so
// with `X-Sluice-Truncated: bytes`; paging on with `skip += records received` (what TagoIO's SDK
// does) still returns every record exactly once, for every way a page is read.

const MAX_PAGE_BYTES = 32 * 1024;
const PER_VARIABLE = 60;

interface ApiRecord {
  id: string;
  variable: string;
  time: string;
}

describe("GET /data pages bounded in bytes (data.maxPageBytes)", () => {
  let sluice: TestSluice;
  let token: string;
  let deviceId: string;

  before(async () => {
    sluice = await startSluice({ data: { maxPageBytes: MAX_PAGE_BYTES } });
    ({ token, deviceId } = await sluice.device());
    const start = Date.UTC(2024, 0, 1);
    const records = [];
    for (let i = 0; i < PER_VARIABLE; i++) {
      for (const [k, variable] of ["a", "b", "c"].entries()) {
        // Sizes vary from ~100 bytes to ~7 KB, so pages hold varying numbers of records.
        const size = ((i * 7 + k * 13) % 11) * 600;
        records.push({
          variable,
          // Escaped characters count as their JSON, not their length.
          value: k === 1 ? '\n"'.repeat(size / 12) : "x".repeat(size),
          ...(i % 3 === 0 && { metadata: { note: "\u0001".repeat(size / 6) } }),
          // Some times shared, so pages also break ties on seq.
          time: new Date(start + Math.floor(i / 2) * 1000 + k).toISOString(),
        });
      }
    }
    for (let from = 0; from < records.length; from += 20) {
      const res = await fetch(`${sluice.api}/data`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: token },
        body: JSON.stringify(records.slice(from, from + 20)),
      });
      assert.ok(res.ok, await res.text());
    }
  });
  after(async () => sluice.close());

  async function page(path: string, params: Record<string, string | string[]>, auth = token) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) search.append(key, v);
    const res = await fetch(`${sluice.api}${path}?${search}`, { headers: { authorization: auth } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const records = (JSON.parse(text) as { result: ApiRecord[] }).result;
    if (records.length > 1) {
      // Only the envelope (`{"status":true,"result":...}`) lies outside the bound.
      assert.ok(Buffer.byteLength(text) <= MAX_PAGE_BYTES + 64, `a page of ${records.length} records was ${Buffer.byteLength(text)} bytes`);
    }
    return { records, truncated: res.headers.get("x-sluice-truncated") };
  }

  /** Pages with `skip += records received` until an empty page; returns the ids in order. */
  async function pageThrough(path: string, params: Record<string, string | string[]>, auth = token) {
    const seen: ApiRecord[] = [];
    let truncatedPages = 0;
    for (let skip = 0; ; ) {
      const { records, truncated } = await page(path, { ...params, skip: String(skip) }, auth);
      if (records.length === 0) break;
      if (truncated !== null) {
        assert.equal(truncated, "bytes");
        truncatedPages++;
      }
      seen.push(...records);
      const variables = new Set(records.map((r) => r.variable)).size;
      // With a variables filter skip applies per variable, and a cut page holds as many of each.
      skip += params.variables && variables > 0 ? records.length / variables : records.length;
      assert.ok(Number.isInteger(skip), "a cut page holds the same number of records of each variable");
    }
    assert.ok(truncatedPages > 0, "some pages were cut in bytes");
    return seen;
  }

  /** The bucket holds PER_VARIABLE records of each variable: all of them, none twice. */
  function assertEachOnce(seen: ApiRecord[], variables: string[]) {
    const got = seen.map((r) => r.id);
    assert.equal(new Set(got).size, got.length, "no record twice");
    for (const variable of variables) {
      assert.equal(seen.filter((r) => r.variable === variable).length, PER_VARIABLE, `every record of ${variable}`);
    }
    assert.equal(seen.length, variables.length * PER_VARIABLE, "no other record");
  }

  for (const ordination of ["descending", "ascending"] as const) {
    const order = ordination === "ascending" ? 1 : -1;
    test(`one variable, ${ordination}`, async () => {
      const seen = await pageThrough("/data", { variable: "a", qty: "10000", ordination });
      assertEachOnce(seen, ["a"]);
      const times = seen.map((r) => Date.parse(r.time));
      assert.deepEqual(times, [...times].sort((x, y) => (x - y) * order), "pages continue one another in order");
    });

    test(`the whole bucket (pages merged across variables), ${ordination}`, async () => {
      assertEachOnce(await pageThrough("/data", { qty: "10000", ordination }), ["a", "b", "c"]);
    });

    test(`a variables filter (qty and skip per variable), ${ordination}`, async () => {
      assertEachOnce(await pageThrough("/data", { variables: ["a", "c"], qty: "10000", ordination }), ["a", "c"]);
    });
  }

  test("query=conditional pages the same way", async () => {
    // `value` is a string here, so the numeric condition matches nothing: only the plumbing.
    const { records, truncated } = await page("/data", { query: "conditional", variable: "a", function: "gt", value: "0", start_date: "2000-01-01" });
    assert.deepEqual(records, []);
    assert.equal(truncated, null);
  });

  test("GET /device/:id/data (account token) is bounded and pages the same way", async () => {
    assertEachOnce(await pageThrough(`/device/${deviceId}/data`, { qty: "10000" }, sluice.adminToken), ["a", "b", "c"]);
  });

  test("a page that fits is not marked", async () => {
    const { records, truncated } = await page("/data", { variable: "b", qty: "2" });
    assert.equal(records.length, 2);
    assert.equal(truncated, null);
  });

  test("DELETE /data is not bounded in bytes: it removes qty records", async () => {
    const { records, truncated } = await page("/data", { variable: "c", qty: "10000" });
    assert.ok(records.length < PER_VARIABLE && truncated === "bytes", "a page of c is cut");
    const res = await fetch(`${sluice.api}/data?variable=c&qty=${PER_VARIABLE}`, { method: "DELETE", headers: { authorization: token } });
    assert.equal(((await res.json()) as { result: string }).result, `${PER_VARIABLE} Data Removed`);
  });
});
