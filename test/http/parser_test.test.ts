import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { parserTestRoutes } from "../../src/http/routes/parser_test.js";
import { createHttpServer } from "../../src/http/server.js";
import { IdentityService } from "../../src/identity/service.js";
import { Metrics } from "../../src/observability/metrics.js";
import { IsolateParserSandbox } from "../../src/sandbox/isolate_parser_sandbox.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";

// POST /device/:id/parser/test over real HTTP, with the real sandbox.

let app: FastifyInstance;
let url: string;
let store: SqliteStore;
let identity: IdentityService;
let sandbox: IsolateParserSandbox;
let accountId: string;
let accountToken: string;

const PARAMS = [{ key: "scale", value: "10", sent: true }];

before(async () => {
  store = new SqliteStore(":memory:");
  identity = new IdentityService(store.identity);
  const admin = await identity.bootstrapAdmin();
  if (!admin) throw new Error("fresh store already had an account");
  accountId = admin.accountId;
  accountToken = admin.token;
  // Time enough that the memory bomb below meets its memory limit before the time limit, however
  // busy the machine (a heap near its limit spends long in garbage collection); the loop case still times out.
  sandbox = new IsolateParserSandbox({ limits: { timeoutMs: 1500 } });
  app = await createHttpServer({
    identity,
    metrics: new Metrics({ processMetrics: false }),
    logger: pino({ level: "silent" }),
    routes: { account: [parserTestRoutes({ identity, sandbox, paramsOf: async () => PARAMS })] },
  });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});

after(async () => {
  await app.close();
  await sandbox.close();
  identity.stop();
  await store.close();
});

async function createDevice(extra: Record<string, unknown> = {}): Promise<string> {
  const { device } = await identity.createDevice(accountId, { name: "thermo", tags: [{ key: "site", value: "north" }], extra });
  return device.id;
}

async function post(path: string, body: unknown, token = accountToken): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", token },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const HEX_PARSER = `
const raw = payload.find((r) => r.variable === "payload");
const buffer = Buffer.from(raw.value, "hex");
const scale = Number(device.params.find((p) => p.key === "scale").value);
console.log("decoding", raw.value, "from", raw.metadata.topic);
payload = [{ variable: "temperature", value: buffer.readInt16BE(0) / scale, metadata: { site: device.tags[0].value } }];
`;

describe("POST /device/:id/parser/test", () => {
  test("runs the script on a raw payload and answers with the output, logs and duration", async () => {
    const id = await createDevice();
    const { status, body } = await post(`/device/${id}/parser/test`, { script: HEX_PARSER, payload: "00fa", topic: "plant/1/up" });
    assert.equal(status, 200);
    assert.equal(body.status, true);
    const result = body.result as { payload: unknown; logs: unknown; duration_ms: number };
    assert.deepEqual(result.payload, [{ variable: "temperature", value: 25, metadata: { site: "north" } }]);
    assert.deepEqual(result.logs, [{ level: "log", message: "decoding 00fa from plant/1/up" }]);
    assert.equal(typeof result.duration_ms, "number");
  });

  test("defaults to the device's own parser", async () => {
    const id = await createDevice({ parse_function: `payload = [{ variable: "own", value: payload[0].value }];` });
    const { status, body } = await post(`/device/${id}/parser/test`, { payload: "hello" });
    assert.equal(status, 200);
    assert.deepEqual((body.result as { payload: unknown }).payload, [{ variable: "own", value: "hello" }]);
  });

  test("a payload in the data format arrives as its records, with the topic (default: test)", async () => {
    const id = await createDevice();
    const script = `payload = payload.map((r) => ({ ...r, value: r.value * 2 }));`;
    const { body } = await post(`/device/${id}/parser/test`, { script, payload: [{ variable: "a", value: 1 }, { variable: "b", value: 2 }] });
    assert.deepEqual((body.result as { payload: unknown }).payload, [
      { variable: "a", value: 2, metadata: { topic: "test" } },
      { variable: "b", value: 4, metadata: { topic: "test" } },
    ]);
    const single = await post(`/device/${id}/parser/test`, { script: "", payload: { variable: "c", value: 3 } });
    assert.equal(single.status, 400, "an empty script is no parser");
  });

  test("an object not in the data format arrives as a payload record holding its JSON", async () => {
    const id = await createDevice();
    const script = `const data = JSON.parse(payload[0].value); payload = [{ variable: "temp", value: data.temp }];`;
    const { body } = await post(`/device/${id}/parser/test`, { script, payload: { temp: 21.5 } });
    assert.deepEqual((body.result as { payload: unknown }).payload, [{ variable: "temp", value: 21.5 }]);
  });

  test("a failing parser answers 400 with the kind, message, line and logs", async () => {
    const id = await createDevice();
    const { status, body } = await post(`/device/${id}/parser/test`, { script: `console.log("before");\nthrow new Error("bad frame");`, payload: "x" });
    assert.equal(status, 400);
    assert.deepEqual(body, {
      status: false,
      message: "Error: bad frame",
      result: { kind: "exception", logs: [{ level: "log", message: "before" }], line: 2 },
    });
  });

  test("each failure kind comes through", async () => {
    const id = await createDevice();
    const cases: [string, string][] = [
      ["const x: number = 1;", "compile"],
      ["while (true) {}", "timeout"],
      ["payload = 1;", "invalid_output"],
      // 8 MB a step: past the 32 MB heap within a few steps, long before the 200 ms time limit even on a loaded machine.
      ["const a = []; while (true) a.push(new Array(1000000).fill(1.5));", "memory"],
    ];
    for (const [script, kind] of cases) {
      const { status, body } = await post(`/device/${id}/parser/test`, { script, payload: "x" });
      assert.equal(status, 400, script);
      assert.equal((body.result as { kind: string }).kind, kind, script);
      assert.equal(typeof body.message, "string");
    }
  });

  test("a device without a parser, and no script sent, is a 400", async () => {
    const id = await createDevice();
    const { status, body } = await post(`/device/${id}/parser/test`, { payload: "x" });
    assert.equal(status, 400);
    assert.equal(body.status, false);
    assert.match(String(body.message), /no payload parser/);
  });

  test("the body is validated", async () => {
    const id = await createDevice();
    const missing = await post(`/device/${id}/parser/test`, { script: "payload = [];" });
    assert.equal(missing.status, 400);
    assert.match(String(missing.body.message), /payload/);
    const wrongScript = await post(`/device/${id}/parser/test`, { script: { code: "payload = [];" }, payload: "x" });
    assert.equal(wrongScript.status, 400);
    // Fastify's validation coerces scalars to the schema's string: a number is sent as its text.
    const number = await post(`/device/${id}/parser/test`, { script: "payload = [{ variable: 'v', value: payload[0].value }];", payload: 42 });
    assert.deepEqual((number.body.result as { payload: unknown }).payload, [{ variable: "v", value: "42" }]);
  });

  test("another account's device is not found; no token is unauthorized", async () => {
    const other = await identity.createAccount("other");
    const id = await createDevice();
    const foreign = await post(`/device/${id}/parser/test`, { script: "payload = [];", payload: "x" }, other.token);
    assert.equal(foreign.status, 404);
    const anonymous = await fetch(`${url}/device/${id}/parser/test`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ script: "payload = [];", payload: "x" }),
    });
    assert.equal(anonymous.status, 401);
  });
});
