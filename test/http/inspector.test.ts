import assert from "node:assert/strict";
import { get, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { pino } from "pino";
import type { FastifyInstance } from "fastify";
import type { SseMessage } from "../../src/cli/sse_parser.js";
import { inspectorRoutes, inspectorStreamRoutes } from "../../src/http/routes/inspector.js";
import { createHttpServer } from "../../src/http/server.js";
import { IdentityService } from "../../src/identity/service.js";
import { Inspector } from "../../src/inspector/inspector.js";
import type { InspectorEventJson } from "../../src/inspector/serialize.js";
import { Metrics } from "../../src/observability/metrics.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import { openStream as openSseStream, type SseStreamClient } from "../helpers/sse_client.js";

// The inspector's HTTP API on a real server: the list and switch behind the account token, and
// the SSE stream that authenticates itself.

interface Server {
  url: string;
  token: string;
  accountId: string;
  identity: IdentityService;
  inspector: Inspector;
  app: FastifyInstance;
  close(): Promise<void>;
}

async function startServer(sse: { heartbeatMs?: number; maxBufferedBytes?: number } = {}): Promise<Server> {
  const store = new SqliteStore(":memory:");
  const identity = new IdentityService(store.identity);
  const admin = (await identity.bootstrapAdmin())!;
  const inspector = new Inspector();
  const app = await createHttpServer({
    identity,
    metrics: new Metrics({ processMetrics: false }),
    logger: pino({ level: "silent" }),
    routes: { account: [inspectorRoutes({ identity, inspector })], public: [inspectorStreamRoutes({ identity, inspector, sse })] },
  });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    url, token: admin.token, accountId: admin.accountId, identity, inspector, app,
    async close() {
      await app.close();
      identity.stop();
      await store.close();
    },
  };
}

let server: Server;
before(async () => {
  server = await startServer();
});
after(() => server.close());

async function newDevice(name = "dev"): Promise<string> {
  return (await server.identity.createDevice(server.accountId, { name })).device.id;
}

async function api(method: string, path: string, options: { token?: string | null; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (options.token !== null) headers.token = options.token ?? server.token;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(server.url + path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  return { status: response.status, body: (await response.json()) as { status: boolean; result?: unknown; message?: string } };
}

function openStream(path: string, headers: Record<string, string> = { token: server.token }): Promise<SseStreamClient> {
  return openSseStream(server.url + path, headers);
}

/** A stream request on a bare socket, so the test decides exactly when the client reads or goes away. */
async function rawStream(target: Server, deviceId: string): Promise<Socket> {
  const socket = connect(Number(new URL(target.url).port), "127.0.0.1");
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  socket.write(`GET /device/${deviceId}/inspector/stream HTTP/1.1\r\nHost: x\r\ntoken: ${target.token}\r\n\r\n`);
  return socket;
}

const eventOf = (message: SseMessage) => JSON.parse(message.data) as InspectorEventJson;

async function until(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

describe("GET /device/:id/inspector", () => {
  test("lists the device's events newest first, in the API's JSON shape", async () => {
    const id = await newDevice();
    server.inspector.record(id, "connect", "client c1 connected", { clientId: "c1" });
    server.inspector.record(id, "message_in", "PUBLISH data/up", { topic: "data/up" });
    const { status, body } = await api("GET", `/device/${id}/inspector`);
    assert.equal(status, 200);
    assert.equal(body.status, true);
    const events = body.result as InspectorEventJson[];
    assert.deepEqual(events.map((e) => e.summary), ["PUBLISH data/up", "client c1 connected"]);
    const [first] = events;
    assert.deepEqual(Object.keys(first!).sort(), ["detail", "device_id", "id", "kind", "summary", "time"]);
    assert.equal(first!.device_id, id);
    assert.equal(first!.kind, "message_in");
    assert.deepEqual(first!.detail, { topic: "data/up" });
    assert.ok(!Number.isNaN(Date.parse(first!.time)));
  });

  test("filters by kinds, search, limit and before", async () => {
    const id = await newDevice();
    for (let i = 0; i < 5; i++) server.inspector.record(id, "message_in", `msg ${i}`);
    server.inspector.record(id, "error", "Parser failed", { code: "PARSER_ERROR" });
    const kinds = (await api("GET", `/device/${id}/inspector?kinds=error,connect`)).body.result as InspectorEventJson[];
    assert.deepEqual(kinds.map((e) => e.summary), ["Parser failed"]);
    const repeated = (await api("GET", `/device/${id}/inspector?kinds=error&kinds=message_in&limit=2`)).body.result as InspectorEventJson[];
    assert.deepEqual(repeated.map((e) => e.summary), ["Parser failed", "msg 4"]);
    const search = (await api("GET", `/device/${id}/inspector?search=parser_ERROR`)).body.result as InspectorEventJson[];
    assert.deepEqual(search.map((e) => e.summary), ["Parser failed"]);
    const page = (await api("GET", `/device/${id}/inspector?limit=2&before=${repeated[1]!.id}`)).body.result as InspectorEventJson[];
    assert.deepEqual(page.map((e) => e.summary), ["msg 3", "msg 2"]);
  });

  test("rejects unknown kinds and out-of-range limits with 400", async () => {
    const id = await newDevice();
    const kinds = await api("GET", `/device/${id}/inspector?kinds=bogus`);
    assert.equal(kinds.status, 400);
    assert.match(kinds.body.message!, /bogus/);
    assert.equal((await api("GET", `/device/${id}/inspector?limit=501`)).status, 400);
    assert.equal((await api("GET", `/device/${id}/inspector?before=not-a-date`)).status, 400);
  });

  test("404 for another account's device, 401 without a token", async () => {
    const id = await newDevice();
    const other = await server.identity.createAccount("other");
    const foreign = await api("GET", `/device/${id}/inspector`, { token: other.token });
    assert.equal(foreign.status, 404);
    assert.deepEqual(foreign.body, { status: false, message: "Device not found" });
    assert.equal((await api("GET", `/device/${id}/inspector`, { token: null })).status, 401);
  });
});

describe("PUT /device/:id/inspector", () => {
  test("switches the device's inspector off and on", async () => {
    const id = await newDevice();
    const off = await api("PUT", `/device/${id}/inspector`, { body: { enabled: false } });
    assert.deepEqual(off.body, { status: true, result: { device_id: id, enabled: false } });
    assert.equal(server.inspector.wants(id), false);
    server.inspector.record(id, "connect", "dropped");
    await api("PUT", `/device/${id}/inspector`, { body: { enabled: true } });
    assert.equal(server.inspector.wants(id), true);
    assert.deepEqual((await api("GET", `/device/${id}/inspector`)).body.result, []);
  });

  test("GET /device/:id/inspector/state reads the switch, for the caller's own device only", async () => {
    const id = await newDevice();
    assert.deepEqual((await api("GET", `/device/${id}/inspector/state`)).body, { status: true, result: { device_id: id, enabled: true } });
    await api("PUT", `/device/${id}/inspector`, { body: { enabled: false } });
    assert.deepEqual((await api("GET", `/device/${id}/inspector/state`)).body, { status: true, result: { device_id: id, enabled: false } });
    const other = await server.identity.createAccount("other-state");
    assert.equal((await api("GET", `/device/${id}/inspector/state`, { token: other.token })).status, 404);
    assert.equal((await api("GET", `/device/${id}/inspector/state`, { token: null })).status, 401);
  });

  test("needs a boolean `enabled`, and the caller's own device", async () => {
    const id = await newDevice();
    assert.equal((await api("PUT", `/device/${id}/inspector`, { body: {} })).status, 400);
    assert.equal((await api("PUT", `/device/${id}/inspector`, { body: { enabled: "no" } })).status, 400);
    const other = await server.identity.createAccount("other-put");
    assert.equal((await api("PUT", `/device/${id}/inspector`, { token: other.token, body: { enabled: false } })).status, 404);
    assert.equal(server.inspector.wants(id), true);
  });
});

describe("GET /device/:id/inspector/stream (SSE)", () => {
  test("sends the backlog oldest first, then events recorded after connecting, with ids", async () => {
    const id = await newDevice();
    for (let i = 1; i <= 3; i++) server.inspector.record(id, "message_in", `old ${i}`);
    const stream = await openStream(`/device/${id}/inspector/stream?backlog=2`);
    try {
      assert.equal(stream.status, 200);
      const backlog = [await stream.next(), await stream.next()];
      assert.deepEqual(backlog.map((m) => eventOf(m).summary), ["old 2", "old 3"]);
      server.inspector.record(id, "connect", "live one", { clientId: "c9" });
      const live = await stream.next();
      const event = eventOf(live);
      assert.equal(event.summary, "live one");
      assert.equal(live.id, String(event.id));
      assert.deepEqual(event.detail, { clientId: "c9" });
      assert.equal(event.device_id, id);
    } finally {
      stream.close();
    }
  });

  test("the content type is text/event-stream and heartbeats are comments", async () => {
    const fast = await startServer({ heartbeatMs: 30 });
    try {
      const id = (await fast.identity.createDevice(fast.accountId, { name: "hb" })).device.id;
      const response = await new Promise<IncomingMessage>((resolve) => get(`${fast.url}/device/${id}/inspector/stream`, { headers: { token: fast.token }, agent: false }, resolve));
      assert.match(response.headers["content-type"]!, /^text\/event-stream/);
      let text = "";
      response.setEncoding("utf8");
      for await (const chunk of response as AsyncIterable<string>) {
        text += chunk;
        if (text.includes(": heartbeat\n\n")) break; // breaking out destroys the response
      }
      assert.match(text, /^retry: \d+\n\n/);
    } finally {
      await fast.close();
    }
  });

  test("accepts the account token as ?token= (EventSource cannot set headers)", async () => {
    const id = await newDevice();
    server.inspector.record(id, "connect", "hello");
    const stream = await openStream(`/device/${id}/inspector/stream?token=${encodeURIComponent(server.token)}`, {});
    try {
      assert.equal(stream.status, 200);
      assert.equal(eventOf(await stream.next()).summary, "hello");
    } finally {
      stream.close();
    }
  });

  test("401 without a token or with a wrong one, 404 for another account's device", async () => {
    const id = await newDevice();
    const none = await fetch(`${server.url}/device/${id}/inspector/stream`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { status: boolean }).status, false);
    const wrong = await fetch(`${server.url}/device/${id}/inspector/stream?token=nope`);
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const other = await server.identity.createAccount("other-sse");
    const foreign = await fetch(`${server.url}/device/${id}/inspector/stream`, { headers: { token: other.token } });
    assert.equal(foreign.status, 404);
    await foreign.body?.cancel();
    assert.equal(server.inspector.watching(id), false);
  });

  test("Last-Event-ID resumes right after that event instead of sending a backlog", async () => {
    const id = await newDevice();
    for (let i = 1; i <= 4; i++) server.inspector.record(id, "message_in", `m${i}`);
    const [, , m2] = server.inspector.list(id); // newest first: m4, m3, m2, m1
    const stream = await openStream(`/device/${id}/inspector/stream?backlog=1`, { token: server.token, "last-event-id": String(m2!.id) });
    try {
      assert.equal(eventOf(await stream.next()).summary, "m3");
      assert.equal(eventOf(await stream.next()).summary, "m4");
      server.inspector.record(id, "message_in", "m5");
      assert.equal(eventOf(await stream.next()).summary, "m5");
    } finally {
      stream.close();
    }
  });

  test("kinds filters both the backlog and the live events", async () => {
    const id = await newDevice();
    server.inspector.record(id, "message_in", "skip me");
    server.inspector.record(id, "error", "old error");
    const stream = await openStream(`/device/${id}/inspector/stream?kinds=error`);
    try {
      assert.equal(eventOf(await stream.next()).summary, "old error");
      server.inspector.record(id, "message_in", "skip me too");
      server.inspector.record(id, "error", "new error");
      assert.equal(eventOf(await stream.next()).summary, "new error");
    } finally {
      stream.close();
    }
  });

  test("the subscription is released when the client disconnects", async () => {
    const id = await newDevice();
    const socket = await rawStream(server, id);
    await until(() => server.inspector.watching(id), "the subscription");
    socket.destroy();
    await until(() => !server.inspector.watching(id), "the subscription to be released");
  });

  test("deleting the device ends its streams", async () => {
    const id = await newDevice();
    const response = await fetch(`${server.url}/device/${id}/inspector/stream`, { headers: { token: server.token } });
    await until(() => server.inspector.watching(id), "the subscription");
    server.inspector.forget(id); // what the composition root does on the device's deletion
    const text = await response.text(); // resolves only once the server ends the response
    assert.match(text, /^retry:/);
  });

  test("a client that stops reading loses events past ~maxBufferedBytes, counted in an `event: dropped`, and keeps its stream", async () => {
    const slow = await startServer({ maxBufferedBytes: 64 * 1024 });
    try {
      const id = (await slow.identity.createDevice(slow.accountId, { name: "slow" })).device.id;
      const socket = await rawStream(slow, id);
      await until(() => slow.inspector.watching(id), "the subscription");
      socket.pause(); // reads nothing more: kernel buffers fill, then Node's
      const big = "x".repeat(250);
      let recorded = 0;
      for (let round = 0; round < 200; round++) {
        for (let i = 0; i < 100; i++, recorded++) slow.inspector.record(id, "message_in", big, { note: big, more: big, again: big });
        await new Promise((resolve) => setImmediate(resolve)); // the inspector hands them over
      }
      assert.equal(slow.inspector.watching(id), true, "the slow client keeps its stream");
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (text += chunk));
      socket.resume();
      const counts = () => {
        const received = text.match(/^id: \d+$/gm)?.length ?? 0;
        const dropped = [...text.matchAll(/^event: dropped\ndata: (.*)$/gm)].reduce((sum, m) => sum + (JSON.parse(m[1]!) as { dropped: number }).dropped, 0);
        return { received, dropped };
      };
      await until(() => counts().received + counts().dropped === recorded, "every event sent or counted as dropped", 10_000);
      const { received, dropped } = counts();
      assert.ok(dropped > recorded / 2, `most of ${recorded} events were dropped (${dropped}), not buffered`);
      assert.ok(received > 0);
      assert.match(text, /"message":"dropped \d+ events: the stream was read too slowly"/);
      socket.destroy();
    } finally {
      await slow.close();
    }
  });

  test("closing the server ends open streams instead of waiting for them", async () => {
    const closing = await startServer();
    const id = (await closing.identity.createDevice(closing.accountId, { name: "bye" })).device.id;
    const response = await fetch(`${closing.url}/device/${id}/inspector/stream`, { headers: { token: closing.token } });
    await until(() => closing.inspector.watching(id), "the subscription");
    const closed = closing.close();
    await response.text();
    await closed;
    assert.equal(closing.inspector.watching(id), false);
  });
});
