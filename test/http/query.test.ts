import assert from "node:assert/strict";
import { test } from "node:test";
import { parseQueryString } from "../../src/http/query.js";

// The SDK encodes list queries with `qs` bracket notation; these pin down how Sluice reads them.

test("plain keys become strings, with + and %-escapes decoded", () => {
  assert.deepEqual(parseQueryString("page=2&orderBy=name%2Casc&q=a+b"), { page: "2", orderBy: "name,asc", q: "a b" });
});

test("indexed keys become arrays in index order", () => {
  assert.deepEqual(parseQueryString("fields%5B1%5D=name&fields%5B0%5D=id"), { fields: ["id", "name"] });
});

test("repeated keys and empty brackets become arrays", () => {
  assert.deepEqual(parseQueryString("f=a&f=b&g[]=c&g[]=d"), { f: ["a", "b"], g: ["c", "d"] });
});

test("nested brackets become nested objects and arrays", () => {
  assert.deepEqual(parseQueryString("filter[name]=*x*&filter[tags][0][key]=site&filter[tags][0][value]=n"), {
    filter: { name: "*x*", tags: [{ key: "site", value: "n" }] },
  });
});

test("keys that would reach Object.prototype are dropped", () => {
  const parsed = parseQueryString("__proto__[polluted]=1&a[constructor][prototype][polluted]=1&ok=1");
  assert.deepEqual(parsed, { ok: "1" });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("keys nested deeper than five levels are dropped", () => {
  assert.deepEqual(parseQueryString("a[1][2][3][4][5][6]=x&b=y"), { b: "y" });
});

test("a malformed escape is kept as written", () => {
  assert.deepEqual(parseQueryString("name=100%"), { name: "100%" });
});
