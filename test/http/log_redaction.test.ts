import assert from "node:assert/strict";
import { connect } from "node:net";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { pino } from "pino";
import type { FastifyInstance } from "fastify";
import { redactUrl } from "../../src/http/redact.js";
import { createHttpServer } from "../../src/http/server.js";
import { IdentityService } from "../../src/identity/service.js";
import { Metrics } from "../../src/observability/metrics.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";

// Tokens never reach the logs, even at debug level where every request's URL is logged: not
// from `?token=` (SSE streams), not from `DELETE /device/token/:token`, not from socket errors.

let lines: string[] = [];
let app: FastifyInstance;
let url: string;
let store: SqliteStore;
let identity: IdentityService;
let adminToken: string;
let accountId: string;

before(async () => {
  store = new SqliteStore(":memory:");
  identity = new IdentityService(store.identity);
  const admin = (await identity.bootstrapAdmin())!;
  adminToken = admin.token;
  accountId = admin.accountId;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter((l) => l !== ""));
      done();
    },
  });
  app = await createHttpServer({ identity, metrics: new Metrics({ processMetrics: false }), logger: pino({ level: "trace" }, sink) });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});
after(async () => {
  await app.close();
  identity.stop();
  await store.close();
});

/** The log lines written while `run` ran (pino writes synchronously to the sink). */
async function logged(run: () => Promise<unknown>): Promise<string> {
  lines = [];
  await run();
  await new Promise((resolve) => setTimeout(resolve, 20));
  return lines.join("\n");
}

test("redactUrl masks token parameters and token path segments", () => {
  assert.equal(redactUrl("/events?channel=x&token=abc&Token=d&%74oken=e&token[]=f"), "/events?channel=x&token=***&Token=***&%74oken=***&token[]=***");
  assert.equal(redactUrl("/device/token/secret-1", "/device/token/:token"), "/device/token/***");
  assert.equal(redactUrl("/device/%74oken/secret-1", "/device/token/:token"), "/device/%74oken/***");
  assert.equal(redactUrl("/anything/0a1b2c3d-0000-4000-8000-00000000abcd/x"), "/anything/***/x");
  assert.equal(redactUrl("/device/0123456789abcdef01234567?page=1"), "/device/0123456789abcdef01234567?page=1");
  // A dashboard's public link: its key is its credential, matched route or not.
  assert.equal(redactUrl("/share/AbC_-123/data/w1?buckets=10", "/share/:key/data/:widget"), "/share/***/data/w1?buckets=10");
  assert.equal(redactUrl("/%73hare/AbC_-123/nowhere"), "/%73hare/***/nowhere");
});

test("a ?token= in the URL is masked in the request log", async () => {
  const secret = "11111111-2222-4333-8444-555555555555";
  const out = await logged(async () => {
    await fetch(`${url}/status?token=${secret}`);
    await fetch(`${url}/status?%74oken=${secret}x`);
    await fetch(`${url}/nowhere?token=${secret}`);
  });
  assert.match(out, /"url":"\/status\?token=\*\*\*"/);
  assert.match(out, /"url":"\/nowhere\?token=\*\*\*"/);
  assert.doesNotMatch(out, new RegExp(secret));
});

test("DELETE /device/token/:token is logged with the token masked", async () => {
  const { device } = await identity.createDevice(accountId, { name: "d" });
  const { token } = await identity.createToken(accountId, device.id, { permission: "full", expiresAt: null });
  const out = await logged(async () => {
    const response = await fetch(`${url}/device/token/${token}`, { method: "DELETE", headers: { token: adminToken } });
    assert.equal(response.status, 200);
    await fetch(`${url}/device/token/${token}`, { method: "DELETE", headers: { token: "wrong" } });
  });
  assert.match(out, /"url":"\/device\/token\/\*\*\*"/);
  assert.doesNotMatch(out, new RegExp(token));
  assert.doesNotMatch(out, new RegExp(adminToken));
});

test("a request refused at the socket logs its error code, not its request line", async () => {
  const secret = "99999999-2222-4333-8444-555555555555";
  const out = await logged(
    () =>
      new Promise<void>((resolve) => {
        const socket = connect(Number(new URL(url).port), "127.0.0.1", () => socket.write(`GET /events?token=${secret} HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n`));
        socket.on("data", () => undefined);
        socket.on("close", () => resolve());
      }),
  );
  assert.match(out, /http client error/);
  assert.doesNotMatch(out, new RegExp(secret));
});
