import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SluiceError } from "../../src/errors.js";
import { parseQueryString } from "../../src/http/query.js";
import { DEFAULT_QTY, parseDataQuery } from "../../src/data/query.js";

const now = new Date("2024-05-01T12:00:00.000Z");
/** What the route sees for a query string the SDK (qs) sends. */
const parse = (qs: string) => parseDataQuery(parseQueryString(qs), now);

function rejects(qs: string, message: RegExp): void {
  assert.throws(() => parse(qs), (err: unknown) => err instanceof SluiceError && err.code === "INVALID_QUERY" && err.httpStatus === 400 && message.test(err.message));
}

describe("parseDataQuery", () => {
  test("no options: a descending list of 15", () => {
    assert.deepEqual(parse(""), { kind: "list", filter: {}, details: false, page: { qty: DEFAULT_QTY, skip: 0, ordination: "descending" } });
    assert.equal(DEFAULT_QTY, 15);
  });

  test("filters as the SDK encodes them (variables%5B0%5D=...), singular aliases, lower-cased variables", () => {
    const q = parse("variables%5B0%5D=Temp&variables%5B1%5D=hum&groups=g1&ids%5B0%5D=x&values%5B0%5D=10&start_date=2024-01-01T00%3A00%3A00.000Z&end_date=1%20day&details=true");
    assert.deepEqual(q.filter, {
      variables: ["temp", "hum"], groups: ["g1"], ids: ["x"], values: ["10"],
      start: new Date("2024-01-01T00:00:00Z"), end: new Date("2024-04-30T12:00:00Z"),
    });
    assert.equal(q.details, true);
    assert.deepEqual(parse("variable=a&serie=s&value=3").filter, { variables: ["a"], groups: ["s"], values: ["3"] });
    assert.deepEqual(parse("variable[]=a&variable[]=b").filter, { variables: ["a", "b"] });
  });

  test("paging: qty, skip, ordination (ascending/asc)", () => {
    const q = parse("qty=100&skip=20&ordination=asc");
    assert.ok(q.kind === "list");
    assert.deepEqual(q.page, { qty: 100, skip: 20, ordination: "ascending" });
    rejects("qty=0", /qty must be an integer from 1 to 10000/);
    rejects("qty=10001", /qty/);
    rejects("qty=abc", /qty/);
    rejects("skip=-1", /skip/);
    rejects("ordination=sideways", /ordination/);
  });

  test("query kinds", () => {
    assert.deepEqual(parse("query=last_value"), { kind: "last", target: "value", filter: {}, details: false });
    assert.deepEqual(parse("query=first_insert"), { kind: "first", target: "insert", filter: {}, details: false });
    assert.equal(parse("query=count").kind, "count");
    assert.equal(parse("query=default").kind, "list");
    assert.deepEqual(parse("query=sum&start_date=2024-01-01").kind, "sum");
    const agg = parse("query=aggregate&interval=hour&function=avg");
    assert.ok(agg.kind === "aggregate");
    assert.equal(agg.interval, "hour");
    assert.equal(agg.fn, "avg");
    assert.equal(agg.page.qty, 10_000, "aggregates are not cut at 15 buckets by default");
    const cond = parse("query=conditional&value=25&function=gte&start_date=1%20day");
    assert.ok(cond.kind === "conditional");
    assert.equal(cond.value, 25);
    assert.equal(cond.fn, "gte");
    assert.equal(cond.filter.values, undefined, "for conditional, value is the threshold, not a filter");
  });

  test("what each kind requires", () => {
    rejects("query=avg", /query=avg needs start_date/);
    rejects("query=sum", /query=sum needs start_date/);
    rejects("query=conditional&value=1&function=gt", /needs start_date/);
    rejects("query=conditional&function=gt&start_date=1%20day", /value must be a number/);
    rejects("query=conditional&value=x&function=gt&start_date=1%20day", /value must be a number/);
    rejects("query=conditional&value=1&function=between&start_date=1%20day", /function must be one of gt, gte, lt, lte, eq, ne/);
    rejects("query=aggregate&interval=week&function=avg", /interval must be one of minute, hour, day, month, quarter, year/);
    rejects("query=aggregate&interval=day&function=median", /function must be one of avg, sum, min, max/);
    rejects("query=everything", /query must be one of/);
  });

  test("bad dates and ranges", () => {
    rejects("start_date=soon", /start_date must be a date/);
    rejects("start_date=2024-02-01&end_date=2024-01-01", /start_date must not be after end_date/);
    assert.equal(parse("start_date=1700000000000").filter.start?.getTime(), 1700000000000);
  });
});
