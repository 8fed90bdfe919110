import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// U+0000 in a string: PostgreSQL's text cannot hold it, SQLite can. Both stores refuse it alike,
// with a 400 naming it, instead of one storing what the other fails on with a 500.
let sluice: TestSluice;
before(async () => {
  sluice = await startSluice();
});
after(() => sluice.close());

async function post(path: string, token: string, body: string): Promise<{ status: number; message: string }> {
  const res = await fetch(`${sluice.api}${path}`, { method: "POST", headers: { authorization: token, "content-type": "application/json" }, body });
  return { status: res.status, message: ((await res.json()) as { message: string }).message };
}

test("a NUL character in a body's strings is a 400, for records and any other route", async () => {
  const device = await sluice.device();
  const cases: [string, string, string][] = [
    ["/data", device.token, '[{"variable":"t\\u0000","value":1}]'],
    ["/data", device.token, '[{"variable":"t","value":"a\\u0000b"}]'],
    ["/device", sluice.adminToken, '{"name":"dev\\u0000"}'],
    ["/device", sluice.adminToken, '{"name":"dev","tags":[{"key":"k\\u0000","value":"v"}]}'],
  ];
  for (const [path, token, body] of cases) {
    const { status, message } = await post(path, token, body);
    assert.equal(status, 400, `${path} ${body}`);
    assert.match(message, /NUL/);
  }
  // The escaped backslash followed by "u0000" is just text, and is stored.
  assert.equal((await post("/data", device.token, '[{"variable":"t","value":"\\\\u0000"}]')).status, 200);
  const res = await fetch(`${sluice.api}/data?variable=t`, { headers: { authorization: device.token } });
  assert.deepEqual(((await res.json()) as { result: { value: string }[] }).result.map((r) => r.value), ["\\u0000"]);
});

test("a NUL character in a path parameter or the query string is a 400, not a store error", async () => {
  for (const path of ["/device/abc%00", "/device?name=a%00b", "/data?variable=t%00"]) {
    const token = path.startsWith("/data") ? (await sluice.device()).token : sluice.adminToken;
    const res = await fetch(`${sluice.api}${path}`, { headers: { authorization: token } });
    assert.equal(res.status, 400, path);
    assert.match(((await res.json()) as { message: string }).message, /NUL/);
  }
});
