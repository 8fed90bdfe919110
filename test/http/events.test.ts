import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import type { FastifyInstance } from "fastify";
import { EventHub } from "../../src/events/hub.js";
import { eventRoutes } from "../../src/http/routes/events.js";
import { createHttpServer } from "../../src/http/server.js";
import { IdentityService } from "../../src/identity/service.js";
import { Metrics } from "../../src/observability/metrics.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import { openStream } from "../helpers/sse_client.js";

// `GET /events`: TagoIO's SSE endpoint, one stream for several channels of one account.

let app: FastifyInstance;
let url: string;
let store: SqliteStore;
let identity: IdentityService;
let token: string;
let accountId: string;
const hub = new EventHub({ maxSubscribersPerAccount: 3 });
/** A made-up analysis token, to check that `analysis_trigger` binds to the token's analysis. */
const ANALYSIS_TOKEN = "analysis-token-of-a1";

before(async () => {
  store = new SqliteStore(":memory:");
  identity = new IdentityService(store.identity);
  ({ token, accountId } = (await identity.bootstrapAdmin())!);
  app = await createHttpServer({
    identity, metrics: new Metrics({ processMetrics: false }), logger: pino({ level: "silent" }),
    routes: {
      public: [eventRoutes({
        hub,
        revocations: identity,
        async resolveToken(t) {
          if (t === ANALYSIS_TOKEN) return { accountId, tokenId: "t-a1", analysisId: "a1" };
          const principal = await identity.authenticateAccountToken(t);
          return principal === undefined ? undefined : { accountId: principal.accountId, tokenId: principal.tokenId };
        },
      })],
    },
  });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});
after(async () => {
  await app.close();
  identity.stop();
  await store.close();
});

const get = async (path: string, headers: Record<string, string> = {}) => {
  const response = await fetch(url + path, { headers });
  return { status: response.status, body: (await response.json()) as { status: boolean; message: string } };
};

describe("GET /events", () => {
  test("delivers the events of the channels asked for, as {channel, payload}, and nothing else", async () => {
    const stream = await openStream(`${url}/events?channels=notification,analysis_console.a9&token=${token}`);
    assert.equal(stream.status, 200);
    hub.publish(accountId, "device_inspector.d1", { not: "asked for" });
    hub.publish(accountId, "notification", { title: "hello" });
    hub.publish(accountId, "analysis_console.a9", { message: "line" });
    assert.deepEqual(JSON.parse((await stream.next()).data), { channel: "notification", payload: { title: "hello" } });
    assert.deepEqual(JSON.parse((await stream.next()).data), { channel: "analysis_console", payload: { message: "line" } });
    stream.close();
  });

  test("another account's events never reach the stream", async () => {
    const other = await identity.createAccount("other");
    const stream = await openStream(`${url}/events?channels=notification`, { token: other.token });
    hub.publish(accountId, "notification", { title: "not yours" });
    hub.publish(other.accountId, "notification", { title: "yours" });
    assert.deepEqual(JSON.parse((await stream.next()).data).payload, { title: "yours" });
    assert.equal(stream.pending, 0);
    stream.close();
  });

  test("analysis_trigger is bound to the analysis whose token opened the stream", async () => {
    const refused = await get("/events?channels=analysis_trigger", { token });
    assert.equal(refused.status, 400);
    assert.match(refused.body.message, /analysis token/);
    const stream = await openStream(`${url}/events?channels=analysis_trigger&token=${ANALYSIS_TOKEN}`);
    hub.publish(accountId, "analysis_trigger.a2", { data: "for another analysis" });
    hub.publish(accountId, "analysis_trigger.a1", { data: [1] });
    assert.deepEqual(JSON.parse((await stream.next()).data), { channel: "analysis_trigger", payload: { data: [1] } });
    stream.close();
  });

  test("an analysis token may join only its own analysis_trigger.<id>: another analysis's is a 403", async () => {
    const refused = await get("/events?channels=notification,analysis_trigger.a2", { token: ANALYSIS_TOKEN });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.status, false);
    assert.match(refused.body.message, /its own analysis_trigger/);
    const own = await openStream(`${url}/events?channels=analysis_trigger.a1&token=${ANALYSIS_TOKEN}`);
    assert.equal(own.status, 200);
    own.close();
  });

  test("a stream ends when its token's revocation is announced, and only that token's streams", async () => {
    const mine = await openStream(`${url}/events?channels=notification&token=${ANALYSIS_TOKEN}`);
    const other = await openStream(`${url}/events?channels=notification`, { token });
    identity.announceRevoked({ tokenIds: ["t-a1"], reason: "test" });
    await mine.ended(1000);
    hub.publish(accountId, "notification", { title: "still here" });
    assert.deepEqual(JSON.parse((await other.next()).data).payload, { title: "still here" });
    other.close();
  });

  test("refuses a missing or wrong token with 401 and bad channel lists with 400", async () => {
    assert.equal((await get("/events?channels=notification")).status, 401);
    assert.equal((await get("/events?channels=notification", { token: "nope" })).status, 401);
    assert.equal((await get("/events", { token })).status, 400);
    assert.equal((await get("/events?channels=no%20spaces", { token })).status, 400);
  });

  test("an account has a bounded number of open streams (429 past it), freed when a stream closes", async () => {
    const streams = await Promise.all([1, 2, 3].map(() => openStream(`${url}/events?channels=notification`, { token })));
    const refused = await get("/events?channels=notification", { token });
    assert.equal(refused.status, 429);
    streams[0]!.close();
    let reopened;
    for (let i = 0; i < 100; i++) {
      reopened = await openStream(`${url}/events?channels=notification`, { token });
      if (reopened.status === 200) break;
      reopened.close();
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(reopened!.status, 200);
    for (const s of [...streams, reopened!]) s.close();
  });
});
