import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/http_server.js";

// Security issue 9, "no request may kill the server": whatever a request holds (query string,
// URL, headers, body), the answer is a JSON envelope and the process, its built-ins included,
// is unchanged. The server runs in this process, so a crash would end the test run.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

async function call(path: string, init: RequestInit = {}) {
  const response = await fetch(server.url + path, init);
  const text = await response.text();
  let body: { status?: boolean; message?: string } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    assert.fail(`${path}: not JSON (${response.status}): ${text.slice(0, 200)}`);
  }
  return { status: response.status, body: body! };
}

/** Sends raw bytes and returns what came back before the server closed or `ms` passed. */
function raw(bytes: string, ms = 1000): Promise<string> {
  const port = Number(new URL(server.url).port);
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let got = "";
    socket.on("data", (chunk) => (got += chunk.toString()));
    const done = () => resolve(got);
    socket.on("close", done);
    socket.on("error", done);
    setTimeout(() => socket.destroy(), ms);
  });
}

describe("query strings", () => {
  test("built-in names as keys answer normally and change no built-in", async () => {
    const hasOwn = Object.prototype.hasOwnProperty;
    const call0 = Function.prototype.call;
    for (const query of ["toString[name]=x", "hasOwnProperty[call]=x", "valueOf[x]=1", "constructor[prototype][x]=1", "__proto__[x]=1"]) {
      const { status, body } = await call(`/status?${query}`);
      assert.equal(status, 200, query);
      assert.equal(body.status, true);
      const listed = await call(`/device?${query}`, { headers: { token: server.accountToken } });
      assert.equal(listed.status, 200, `${query}: ${listed.body.message}`);
    }
    assert.equal(Object.prototype.hasOwnProperty, hasOwn);
    assert.equal(Object.prototype.hasOwnProperty.call, call0);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test("a filter on a built-in name is applied as data", async () => {
    const { status, body } = await call("/device?filter[toString]=x&filter[hasOwnProperty][call]=y", { headers: { token: server.accountToken } });
    assert.equal(status, 200, body.message);
  });

  test("a query past its bounds gets 400 before authentication", async () => {
    for (const query of [`a${"[b]".repeat(1000)}=1`, "a[999999999]=1", Array.from({ length: 2000 }, (_, i) => `p${i}=1`).join("&"), `q=${"x".repeat(9000)}`]) {
      const { status, body } = await call(`/device?${query}`);
      assert.equal(status, 400, query.slice(0, 40));
      assert.equal(body.status, false);
      assert.match(body.message!, /query string/);
    }
  });
});

describe("URLs, headers and bodies", () => {
  test("a path the router cannot decode gets 400 JSON", async () => {
    const { status, body } = await call("/device/%ff");
    assert.ok(status === 400 || status === 404, String(status));
    assert.equal(body.status, false);
  });

  test("a JSON body with __proto__ gets 400 and pollutes nothing", async () => {
    const { status, body } = await call("/device", { method: "POST", headers: { token: server.accountToken, "content-type": "application/json" }, body: '{"name":"x","__proto__":{"polluted":1}}' });
    assert.equal(status, 400, body.message);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test("a request Node refuses at the socket gets a JSON envelope", async () => {
    const answer = await raw("GET /status HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.match(answer, /\{"status":false,"message":"Malformed HTTP request"\}/);
    const huge = await raw(`GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431/);
    assert.match(huge, /"status":false/);
    assert.equal((await call("/status")).status, 200);
  });
});
