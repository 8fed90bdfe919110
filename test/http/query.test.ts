import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_ARRAY_INDEX, parseQueryString, queryRefusal, routerQueryParser } from "../../src/http/query.js";
import { SluiceError } from "../../src/errors.js";

// The SDK encodes list queries with `qs` bracket notation; these pin down how Sluice reads them.
// Parsed objects have a null prototype; `plain` turns them into ordinary ones for comparison.
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const parse = (input: string) => plain(parseQueryString(input));

test("plain keys become strings, with + and %-escapes decoded", () => {
  assert.deepEqual(parse("page=2&orderBy=name%2Casc&q=a+b"), { page: "2", orderBy: "name,asc", q: "a b" });
});

test("indexed keys become arrays in index order", () => {
  assert.deepEqual(parse("fields%5B1%5D=name&fields%5B0%5D=id"), { fields: ["id", "name"] });
});

test("repeated keys and empty brackets become arrays", () => {
  assert.deepEqual(parse("f=a&f=b&g[]=c&g[]=d"), { f: ["a", "b"], g: ["c", "d"] });
});

test("nested brackets become nested objects and arrays", () => {
  assert.deepEqual(parse("filter[name]=*x*&filter[tags][0][key]=site&filter[tags][0][value]=n"), {
    filter: { name: "*x*", tags: [{ key: "site", value: "n" }] },
  });
});

test("a malformed escape is kept as written", () => {
  assert.deepEqual(parse("name=100%"), { name: "100%" });
  assert.deepEqual(parse("a%zz=%"), { "a%zz": "%" });
});

test("every object has a null prototype, so built-in names are plain data", () => {
  const parsed = parseQueryString("toString[name]=x&hasOwnProperty[call]=y&valueOf=z&filter[constructor][prototype][p]=1");
  assert.equal(Object.getPrototypeOf(parsed), null);
  assert.equal(Object.getPrototypeOf(parsed.toString), null);
  assert.deepEqual(plain(parsed), { toString: { name: "x" }, hasOwnProperty: { call: "y" }, valueOf: "z", filter: { constructor: { prototype: { p: "1" } } } });
  assert.equal(typeof Object.prototype.hasOwnProperty.call, "function");
  assert.equal(Object.prototype.hasOwnProperty.call({ a: 1 }, "a"), true);
  assert.equal(({} as Record<string, unknown>).p, undefined);
});

test("__proto__ keys are dropped and reach no prototype", () => {
  const parsed = parseQueryString("__proto__[polluted]=1&a[__proto__][polluted]=1&ok=1");
  assert.deepEqual(plain(parsed), { ok: "1", a: {} });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("keys nested deeper than the bound are refused, not dropped", () => {
  assert.deepEqual(parse("a[b][c][d][e][f]=x"), { a: { b: { c: { d: { e: { f: "x" } } } } } });
  assert.throws(() => parseQueryString("a[b][c][d][e][f][g]=x&b=y"), (err: SluiceError) => err.code === "INVALID_QUERY" && err.httpStatus === 400);
  assert.throws(() => parseQueryString("a[b][c]=x", { maxBytes: 100, maxParameters: 10, maxDepth: 1 }), /1 brackets deep/);
});

test("too many parameters, too long a query and huge indexes are refused", () => {
  const bounds = { maxBytes: 1000, maxParameters: 3, maxDepth: 5 };
  assert.doesNotThrow(() => parseQueryString("a=1&b=2&c=3", bounds));
  assert.throws(() => parseQueryString("a=1&b=2&c=3&d=4", bounds), /at most 3 parameters/);
  assert.throws(() => parseQueryString(`a=${"x".repeat(1000)}`, bounds), /longer than 1000/);
  assert.throws(() => parseQueryString("a[999999999]=1"), /array indexes/);
  assert.deepEqual(parse(`a[${MAX_ARRAY_INDEX - 1}]=1`), { a: ["1"] });
});

test("the router's parser never throws: it marks the refusal for the first hook", () => {
  const parser = routerQueryParser({ maxBytes: 10, maxParameters: 10, maxDepth: 5 });
  const good = parser("a=1");
  assert.equal(queryRefusal(good), undefined);
  const refused = parser("a=".padEnd(20, "x"));
  assert.deepEqual(plain(refused), {});
  assert.match(queryRefusal(refused)!.message, /longer than 10/);
});
