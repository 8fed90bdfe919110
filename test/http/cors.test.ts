import assert from "node:assert/strict";
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Issue 11: the API answers CORS preflights for the origins of `http.corsOrigins` (none by
// default, `*` for any), so a page (and @tago-io/sdk in a browser) may call it. Real preflights
// over a socket, against a whole Sluice, as a browser sends them.

const APP = "https://app.example.com";
const OTHER = "https://evil.example.net";

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** node:http rather than fetch, so `Origin` goes out as given. SSE answers are cut after the headers. */
function send(base: string, method: string, path: string, headers: OutgoingHttpHeaders = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers, agent: false }, (response) => {
      if (String(response.headers["content-type"]).startsWith("text/event-stream")) {
        response.destroy();
        resolve({ status: response.statusCode!, headers: response.headers, body: "" });
        return;
      }
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A browser's preflight before a call with the SDK's headers. */
const preflight = (base: string, path: string, origin: string, method = "GET", requestHeaders = "token,content-type") =>
  send(base, "OPTIONS", path, { origin, "access-control-request-method": method, "access-control-request-headers": requestHeaders });

const corsHeaders = (answer: Answer) => Object.keys(answer.headers).filter((name) => name.startsWith("access-control-"));

const withCors = (corsOrigins: string[], more: Parameters<typeof startSluice>[0] = {}) => startSluice({ ...more, http: { ...defaultConfig.http, corsOrigins } });

describe("no http.corsOrigins (the default)", () => {
  let sluice: TestSluice;
  before(async () => (sluice = await startSluice()));
  after(() => sluice.close());

  test("a preflight gets no CORS header (404: there is no OPTIONS route)", async () => {
    for (const path of ["/device", "/data", "/status", "/api/openapi.json"]) {
      const answer = await preflight(sluice.api, path, APP);
      assert.equal(answer.status, 404, path);
      assert.deepEqual(corsHeaders(answer), [], path);
    }
  });

  test("a cross-origin call is answered without CORS headers, so a browser keeps the answer from the page", async () => {
    const answer = await send(sluice.api, "GET", "/device", { origin: APP, token: sluice.adminToken });
    assert.equal(answer.status, 200);
    assert.deepEqual(corsHeaders(answer), []);
  });
});

describe("listed origins", () => {
  let sluice: TestSluice;
  let deviceToken: string;
  before(async () => {
    // A plan of 2 data requests a minute: a preflight that were counted would show.
    sluice = await withCors([APP, "http://localhost:5173"], { plans: { tight: { http: { data: 2 } } }, defaultPlan: "tight" });
    ({ token: deviceToken } = await sluice.device());
  });
  after(() => sluice.close());

  test("a listed origin's preflight is answered 204 with what the SDK needs", async () => {
    const answer = await preflight(sluice.api, "/device/abc", APP, "PUT", "token,content-type,pragma,cache-control");
    assert.equal(answer.status, 204);
    assert.equal(answer.body, "");
    assert.equal(answer.headers["access-control-allow-origin"], APP);
    const methods = String(answer.headers["access-control-allow-methods"]).split(/,\s*/);
    for (const method of ["GET", "POST", "PUT", "DELETE"]) assert.ok(methods.includes(method), `${method} in ${methods.join()}`);
    const allowed = String(answer.headers["access-control-allow-headers"]).toLowerCase().split(/,\s*/);
    for (const header of ["token", "authorization", "content-type", "pragma", "cache-control"]) assert.ok(allowed.includes(header), `${header} in ${allowed.join()}`);
    assert.equal(answer.headers["access-control-allow-credentials"], undefined, "tokens travel in headers: no credentials");
    assert.match(String(answer.headers.vary), /origin/i);
    assert.ok(Number(answer.headers["access-control-max-age"]) > 0);
    // Another listed origin gets its own name back, not the first one's.
    assert.equal((await preflight(sluice.api, "/data", "http://localhost:5173", "POST")).headers["access-control-allow-origin"], "http://localhost:5173");
  });

  test("preflights reach neither authentication nor plan admission", async () => {
    for (let i = 0; i < 10; i++) {
      for (const path of ["/data", "/device", "/account", "/device/x/data?query=aggregate"]) {
        const answer = await preflight(sluice.api, path, APP, "POST");
        assert.equal(answer.status, 204, `${path}: ${answer.body}`);
      }
    }
    // The plan's 2 data requests a minute are all still there, then it refuses.
    const data = () => send(sluice.api, "GET", "/data", { origin: APP, token: deviceToken });
    assert.equal((await data()).status, 200);
    assert.equal((await data()).status, 200);
    const refused = await data();
    assert.equal(refused.status, 429);
    // The page may read the refusal and its Retry-After.
    assert.equal(refused.headers["access-control-allow-origin"], APP);
    assert.match(String(refused.headers["access-control-expose-headers"]).toLowerCase(), /retry-after/);
    assert.ok(refused.headers["retry-after"]);
  });

  test("the calls themselves carry Access-Control-Allow-Origin, errors included", async () => {
    const ok = await send(sluice.api, "GET", "/device", { origin: APP, token: sluice.adminToken });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers["access-control-allow-origin"], APP);
    const denied = await send(sluice.api, "GET", "/device", { origin: APP });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers["access-control-allow-origin"], APP);
    assert.equal((JSON.parse(denied.body) as { status: boolean }).status, false);
  });

  test("an SSE stream (EventSource, ?token=) carries it too", async () => {
    const stream = await send(sluice.api, "GET", `/events?channels=notification&token=${sluice.adminToken}`, { origin: APP });
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers["content-type"]), /^text\/event-stream/);
    assert.equal(stream.headers["access-control-allow-origin"], APP);
  });

  test("an origin not listed gets no CORS header: its preflight is the API's 404, its calls have no Allow-Origin", async () => {
    for (const origin of [OTHER, "https://app.example.com.evil.net", "http://app.example.com", "null"]) {
      const answer = await preflight(sluice.api, "/device", origin);
      assert.equal(answer.status, 404, origin);
      assert.equal((JSON.parse(answer.body) as { status: boolean }).status, false);
      assert.deepEqual(corsHeaders(answer), [], origin);
      const call = await send(sluice.api, "GET", "/device", { origin, token: sluice.adminToken });
      assert.equal(call.status, 200);
      assert.deepEqual(corsHeaders(call), [], origin);
    }
  });
});

describe("http.corsOrigins: [*]", () => {
  let sluice: TestSluice;
  before(async () => (sluice = await withCors(["*"])));
  after(() => sluice.close());

  test("any origin's preflight and calls are allowed", async () => {
    for (const origin of [APP, OTHER, "http://localhost:3000"]) {
      const answer = await preflight(sluice.api, "/device", origin, "POST");
      assert.equal(answer.status, 204, origin);
      assert.equal(answer.headers["access-control-allow-origin"], "*");
      assert.match(String(answer.headers["access-control-allow-headers"]), /token/);
      const call = await send(sluice.api, "GET", "/status", { origin });
      assert.equal(call.status, 200);
      assert.equal(call.headers["access-control-allow-origin"], "*");
    }
  });

  test("a request without Origin (not a browser's cross-origin call) gets no CORS header", async () => {
    const call = await send(sluice.api, "GET", "/status");
    assert.deepEqual(corsHeaders(call), []);
  });
});
