import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { IdentityService } from "../../src/identity/service.js";
import { startTestServer, type TestServer } from "../helpers/http_server.js";

// The envelope and error contract, over raw HTTP: every answer is JSON, failures are
// `{ status: false, message }` with a fitting status, and nothing internal leaks.

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(() => server.close());

interface Envelope {
  status: boolean;
  result?: unknown;
  message?: string;
}

async function call(method: string, path: string, init: { token?: string | null; headers?: Record<string, string>; body?: string } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? server.accountToken : init.token;
  if (token !== null) headers.token = token;
  const response = await fetch(server.url + path, { method, headers, body: init.body });
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  return { status: response.status, body: (await response.json()) as Envelope };
}

const json = { "content-type": "application/json" };

describe("authentication", () => {
  test("a request without a token gets 401 and a JSON failure", async () => {
    const { status, body } = await call("GET", "/device", { token: null });
    assert.equal(status, 401);
    assert.equal(body.status, false);
    assert.match(body.message!, /Authorization denied/);
  });

  test("a wrong token gets 401", async () => {
    const { status, body } = await call("GET", "/device", { token: "00000000-0000-0000-0000-000000000000" });
    assert.equal(status, 401);
    assert.deepEqual(body, { status: false, message: "Authorization denied" });
  });

  test("a device token is not an account token", async () => {
    const { result } = (await call("POST", "/device", { headers: json, body: JSON.stringify({ name: "d" }) })).body as { result: { token: string } };
    const { status } = await call("GET", "/device", { token: result.token });
    assert.equal(status, 401);
  });

  test("the account token is accepted as Authorization: Bearer", async () => {
    const { status } = await call("GET", "/device", { token: null, headers: { authorization: `Bearer ${server.accountToken}` } });
    assert.equal(status, 200);
  });

  test("the account token is accepted as a bare Authorization header", async () => {
    const { status } = await call("GET", "/device", { token: null, headers: { authorization: server.accountToken } });
    assert.equal(status, 200);
  });

  test("failed authentications are counted in the metrics", async () => {
    await call("GET", "/device", { token: "nope" });
    const metric = await server.metrics.authFailures.get();
    assert.ok((metric.values.find((v) => v.labels.protocol === "http")?.value ?? 0) >= 1);
  });
});

describe("access across accounts", () => {
  test("another account's device answers 404, as if it did not exist", async () => {
    const created = await call("POST", "/device", { headers: json, body: JSON.stringify({ name: "mine" }) });
    const id = (created.body.result as { device_id: string }).device_id;
    const other = await server.otherAccount();
    for (const method of ["GET", "DELETE"]) {
      const { status, body } = await call(method, `/device/${id}`, { token: other.token });
      assert.equal(status, 404, method);
      assert.equal(body.message, "Device not found");
    }
    const edit = await call("PUT", `/device/${id}`, { token: other.token, headers: json, body: JSON.stringify({ name: "theirs" }) });
    assert.equal(edit.status, 404);
  });
});

describe("request bodies", () => {
  test("a body missing a required field gets 400 naming the field", async () => {
    const { status, body } = await call("POST", "/device", { headers: json, body: JSON.stringify({ description: "no name" }) });
    assert.equal(status, 400);
    assert.equal(body.status, false);
    assert.match(body.message!, /name/);
  });

  test("a field of the wrong shape gets 400 naming the field", async () => {
    const { status, body } = await call("POST", "/device", { headers: json, body: JSON.stringify({ name: "x", tags: [{ key: "k" }] }) });
    assert.equal(status, 400);
    assert.match(body.message!, /tags\/0.*value/);
  });

  test("a body that is not valid JSON gets 400", async () => {
    const { status, body } = await call("POST", "/device", { headers: json, body: "{\"name\": " });
    assert.equal(status, 400);
    assert.deepEqual(body, { status: false, message: "Body is not valid JSON" });
  });

  test("a body that is not JSON at all gets 415", async () => {
    const { status, body } = await call("POST", "/device", { headers: { "content-type": "text/plain" }, body: "name=x" });
    assert.equal(status, 415);
    assert.match(body.message!, /application\/json/);
  });

  test("a body over the size limit gets 413", async () => {
    const big = JSON.stringify({ name: "x", description: "a".repeat(1024 * 1024) });
    const { status, body } = await call("POST", "/device", { headers: json, body: big });
    assert.equal(status, 413);
    assert.match(body.message!, /larger than the limit/);
  });

  test("an empty body under a JSON content type counts as no body", async () => {
    const created = await call("POST", "/device", { headers: json, body: JSON.stringify({ name: "del" }) });
    const id = (created.body.result as { device_id: string }).device_id;
    const { status } = await call("DELETE", `/device/${id}`, { headers: json, body: "" });
    assert.equal(status, 200);
  });
});

describe("query strings", () => {
  test("an invalid paging value gets 400 naming the parameter", async () => {
    const { status, body } = await call("GET", "/device?page=0");
    assert.equal(status, 400);
    assert.match(body.message!, /page/);
  });

  test("an orderBy on an unknown field gets 400", async () => {
    const { status, body } = await call("GET", "/device?orderBy=secret,asc");
    assert.equal(status, 400);
    assert.match(body.message!, /orderBy/);
  });
});

describe("routes", () => {
  test("an unknown route gets 404 JSON", async () => {
    const { status, body } = await call("GET", "/nothing/here?x=1");
    assert.equal(status, 404);
    assert.deepEqual(body, { status: false, message: "Route GET /nothing/here not found" });
  });

  test("GET /status answers without a token", async () => {
    const { status, body } = await call("GET", "/status", { token: null });
    assert.equal(status, 200);
    const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.deepEqual(body, { status: true, result: { name: "sluice", version } });
  });

  test("GET /metrics answers Prometheus text without a token", async () => {
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /sluice_auth_failures_total/);
    assert.match(text, /sluice_http_requests_total\{method="GET",route="\/device",status="200"\}/);
  });
});

describe("unexpected errors", () => {
  let broken: TestServer;
  before(async () => {
    broken = await startTestServer({
      identity: (store) =>
        new (class extends IdentityService {
          override async listDevices(): Promise<never> {
            throw new Error("SQLITE_CORRUPT at /secret/path/sluice.db");
          }
        })(store.identity),
    });
  });
  after(() => broken.close());

  test("answer 500 with a generic message that leaks nothing", async () => {
    const response = await fetch(`${broken.url}/device`, { headers: { token: broken.accountToken } });
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { status: false, message: "Internal server error" });
  });
});
