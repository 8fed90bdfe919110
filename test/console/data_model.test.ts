import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type * as ApiWords from "../../console/src/pages/device/data/api_words.js";
import type * as CsvRecords from "../../console/src/pages/device/data/csv_records.js";
import type * as Query from "../../console/src/pages/device/data/query.js";
import { loadConsoleModule } from "../helpers/console_module.js";

// The Data tab's logic outside the browser: the form → the API's query options, paging by time,
// and records ↔ CSV rows (console/src/pages/device/data/).
let q: typeof Query;
let rec: typeof CsvRecords;
let words: typeof ApiWords;
before(async () => {
  q = await loadConsoleModule<typeof Query>("pages/device/data/query.ts");
  rec = await loadConsoleModule<typeof CsvRecords>("pages/device/data/csv_records.ts");
  words = await loadConsoleModule<typeof ApiWords>("pages/device/data/api_words.ts");
});

describe("the query form", () => {
  test("each kind sends the options it takes, lists split on commas", () => {
    const form = { ...q.EMPTY_FORM, variables: "temp, hum,", start: "1 day", groups: "g1" };
    assert.deepEqual(q.apiQuery(form), { query: "default", variables: ["temp", "hum"], groups: ["g1"], start_date: "1 day", ordination: "descending", qty: "50" });
    assert.deepEqual(q.apiQuery({ ...form, kind: "last_value" }), { query: "last_value", variables: ["temp", "hum"], groups: ["g1"], start_date: "1 day" });
    assert.deepEqual(q.apiQuery({ ...q.EMPTY_FORM, kind: "aggregate", interval: "day", aggregate: "max" }), { query: "aggregate", ordination: "descending", qty: "50", interval: "day", function: "max" });
    assert.deepEqual(q.apiQuery({ ...q.EMPTY_FORM, kind: "conditional", comparison: "lte", threshold: "3.5" }), { query: "conditional", ordination: "descending", qty: "50", function: "lte", value: "3.5" });
    assert.deepEqual(q.filterQuery({ ...q.EMPTY_FORM, kind: "count", ids: "a,b", values: "1", end: "2024-01-01" }), { ids: ["a", "b"], values: ["1"], end_date: "2024-01-01" });
  });

  test("the address holds only what differs from the empty form, and reads back the same form", () => {
    const form = { ...q.EMPTY_FORM, kind: "avg" as const, variables: "t", start: "2024-01-01 00:00" };
    const search = q.formToSearch(form);
    assert.equal(search, "kind=avg&variables=t&start=2024-01-01+00%3A00");
    assert.deepEqual(q.formFromSearch(new URLSearchParams(search)), form);
    assert.equal(q.formFromSearch(new URLSearchParams("kind=nonsense&ordination=sideways")).kind, "default");
    assert.equal(q.formFromSearch(new URLSearchParams("ordination=sideways")).ordination, "descending");
  });

  test("lists of one variable page by time: the next page ends at the last record, skipping its millisecond's records already shown", () => {
    const form = { ...q.EMPTY_FORM, qty: "3", end: "2030-01-01" };
    assert.equal(q.pagingOf(form), "keyset");
    const page1 = [{ time: "2024-01-01T00:00:05.000Z" }, { time: "2024-01-01T00:00:04.000Z" }, { time: "2024-01-01T00:00:04.000Z" }];
    const c2 = q.nextCursor(form, q.FIRST_PAGE, page1);
    assert.deepEqual(c2, { edge: "2024-01-01T00:00:04.000Z", skip: 2 });
    assert.deepEqual(q.apiQuery(form, c2), { query: "default", end_date: "2024-01-01T00:00:04.000Z", ordination: "descending", qty: "3", skip: 2 });
    // A whole page at the edge's millisecond: the skip grows.
    const c3 = q.nextCursor(form, c2, [{ time: "2024-01-01T00:00:04.000Z" }, { time: "2024-01-01T00:00:04.000Z" }, { time: "2024-01-01T00:00:04.000Z" }]);
    assert.deepEqual(c3, { edge: "2024-01-01T00:00:04.000Z", skip: 5 });
    // Oldest first: the edge is the start.
    const asc = { ...form, ordination: "ascending" as const };
    assert.equal(q.apiQuery(asc, c2).start_date, "2024-01-01T00:00:04.000Z");
    assert.equal(q.mayHaveMore(form, 3), true);
    assert.equal(q.mayHaveMore(form, 2), false);
  });

  test("several variables (qty per variable), aggregates and conditionals page by skip, a page of qty each", () => {
    const multi = { ...q.EMPTY_FORM, variables: "a,b", qty: "25" };
    assert.equal(q.pagingOf(multi), "skip");
    assert.deepEqual(q.nextCursor(multi, { skip: 25 }, new Array(50).fill({ time: "x" })), { skip: 50 });
    assert.equal(q.pagingOf({ ...q.EMPTY_FORM, kind: "aggregate" }), "skip");
    assert.equal(q.pagingOf({ ...q.EMPTY_FORM, kind: "max" }), "none");
  });
});

describe("records ↔ CSV", () => {
  test("a record is a line: value as text, location lat,lng, metadata as JSON, quoted where needed", () => {
    const line = rec.recordToCsv({
      id: "1", device: "d", variable: "pos", value: "a,b", unit: "m", group: "g", time: "2024-01-01T00:00:00.000Z", created_at: "",
      location: { type: "Point", coordinates: [6.6, 46.5] }, metadata: { k: "v" },
    });
    assert.equal(line, 'pos,"a,b",m,2024-01-01T00:00:00.000Z,g,"46.5,6.6","{""k"":""v""}"\r\n');
    assert.equal(rec.recordToCsv({ id: "1", device: "d", variable: "flag", value: false, group: "g", time: "t", created_at: "" }), "flag,false,,t,g,,\r\n");
  });

  test("import reads the header's columns in any order and case; empty cells are left out; values typed on request", () => {
    const csv = "Metadata,VARIABLE,value,serie,location,time\r\n" + '"{""a"":1}",temp,21.5,g1,"46.5, 6.6",2024-01-01\r\n' + ",ok,true,,,\r\n" + ",txt,007,,,\r\n";
    const { rows, ignored } = rec.parseImport(csv, { typedValues: true });
    assert.deepEqual(ignored, []);
    assert.deepEqual(rows.map((r) => r.record), [
      { variable: "temp", value: 21.5, time: "2024-01-01", group: "g1", location: { lat: 46.5, lng: 6.6 }, metadata: { a: 1 } },
      { variable: "ok", value: true },
      { variable: "txt", value: "007" },
    ]);
    assert.deepEqual(rows.map((r) => r.line), [2, 3, 4]);
    assert.deepEqual(rec.parseImport(csv, { typedValues: false }).rows[0]!.record.value, "21.5");
  });

  test("what a column cannot hold is sent as written, for the API to name; tables that are not one are refused with their line", () => {
    const { rows, ignored } = rec.parseImport("variable,metadata,location,extra\r\nv,{oops,north,x\r\n", { typedValues: true });
    assert.deepEqual(rows[0]!.record, { variable: "v", metadata: "{oops", location: "north" });
    assert.deepEqual(ignored, ["extra"]);
    assert.throws(() => rec.parseImport("value,unit\r\n1,C\r\n", { typedValues: true }), /line 1: the header must name a "variable" column/);
    assert.throws(() => rec.parseImport("variable,value\r\na,1\r\nb\r\n", { typedValues: true }), /^Error: line 3: 1 field, but the header has 2$/);
    assert.throws(() => rec.parseImport("variable,Variable\r\n", { typedValues: true }), /the column "variable" appears twice/);
    assert.throws(() => rec.parseImport("\r\n\r\n", { typedValues: true }), /the file holds no rows/);
  });

  test("chunks respect both the body bytes and the record count", () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ record: { variable: "v", value: "x".repeat(90) }, line: i + 2 }));
    const size = JSON.stringify(rows[0]!.record).length + 1;
    assert.deepEqual(rec.chunkRanges(rows, { maxBytes: 2 + size * 4, maxRecords: 100 }), [[0, 4], [4, 8], [8, 10]]);
    assert.deepEqual(rec.chunkRanges(rows, { maxBytes: 1e9, maxRecords: 3 }), [[0, 3], [3, 6], [6, 9], [9, 10]]);
    // A record larger than the bound still goes, alone: the API then says why it refuses it.
    assert.deepEqual(rec.chunkRanges(rows.slice(0, 2), { maxBytes: 10, maxRecords: 100 }), [[0, 1], [1, 2]]);
    assert.deepEqual(rec.chunkRanges([], { maxBytes: 10, maxRecords: 10 }), []);
  });

  test("the API's words are read for the wait and the record they name", () => {
    assert.equal(words.retryAfterSeconds("Too many requests (Retry-After: 8): the plan's 250 requests per minute"), 8);
    assert.equal(words.retryAfterSeconds("other"), undefined);
    assert.equal(words.recordIndexOf("record 12: variable must not contain spaces"), 12);
    assert.equal(words.recordIndexOf("at most 10000 records"), undefined);
  });
});
