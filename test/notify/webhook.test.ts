import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";
import { startWebhookSink, type WebhookSink } from "../helpers/webhook_sink.js";

// The `post` (webhook) action against a real local HTTP server: body and headers, retries with
// backoff, dead letters (inspector and HTTP list), a server that recovers, and a pipeline that
// never waits for delivery.
const { Resources, Device } = sdk;

const BASE_DELAY = 60;
let sluice: TestSluice;
let api: string;
before(async () => {
  sluice = await startSluice({
    webhooks: { ...defaultConfig.webhooks, attempts: 3, baseDelayMs: BASE_DELAY, maxDelayMs: 1000, timeoutMs: 2000, maxPending: 4 },
  });
  api = sluice.api;
});
after(() => sluice.close());

function resources() {
  return new Resources({ token: sluice.adminToken, region: { api, sse: `${api}/events` } });
}

async function sink(): Promise<WebhookSink> {
  const s = await startWebhookSink();
  after(() => s.close());
  return s;
}

async function postAction(deviceId: string, topic: string, url: string, headers: unknown = {}): Promise<string> {
  const { action } = await resources().actions.create({
    name: `hook ${topic}`,
    type: "mqtt_topic",
    trigger: [{ device: deviceId, topic } as never],
    action: { type: "post", url, headers } as never,
  });
  return action;
}

async function api_<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: { status: boolean; result: T; message?: string } }> {
  const res = await fetch(`${api}${path}`, { ...init, headers: { token: sluice.adminToken, "content-type": "application/json", ...init.headers } });
  return { status: res.status, body: (await res.json()) as { status: boolean; result: T; message?: string } };
}


interface DeadLetterJson {
  id: string;
  action: string;
  device: string;
  url: string;
  status: number | null;
  attempts: number;
  error: string;
  body: { data: { variable: string; value: unknown }[] };
}

describe("post (webhook) action", () => {
  test("POSTs the records, device and action as JSON with the action's templated headers", async () => {
    const hook = await sink();
    const dev = await sluice.device();
    const actionId = await postAction(dev.deviceId, "meter/+", `${hook.url}/in/$DEVICE_ID$`, { Authorization: "Bearer s3cret", "X-Variable": "$VARIABLE$" });
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.publishAsync("meter/1", JSON.stringify([{ variable: "energy", value: 12.5, unit: "kWh" }, { variable: "power", value: 3 }]), { qos: 1 });
    const [req] = await hook.waitFor(1);
    assert.equal(req!.method, "POST");
    assert.equal(req!.path, `/in/${dev.deviceId}`);
    assert.equal(req!.headers.authorization, "Bearer s3cret");
    assert.equal(req!.headers["x-variable"], "energy");
    assert.match(String(req!.headers["content-type"]), /^application\/json/);
    const body = req!.body as Record<string, unknown> & { data: Record<string, unknown>[] };
    assert.deepEqual(body.action, { id: actionId, name: "hook meter/+", trigger: "mqtt_topic" });
    assert.equal((body.device as { id: string }).id, dev.deviceId);
    assert.equal(body.topic, "meter/1");
    assert.deepEqual(body.data.map((r) => [r.variable, r.value, r.unit]), [["energy", 12.5, "kWh"], ["power", 3, null]]);
    assert.equal((body.data[0]!.metadata as { topic: string }).topic, "meter/1");
  });

  test("headers given as TagoIO's [{ key, value }] list are accepted; bad URLs and reserved headers are refused", async () => {
    const r = resources();
    const { action } = await r.actions.create({
      name: "list headers", type: "mqtt_topic", trigger: [{ device: "d1", topic: "t" } as never],
      action: { type: "post", url: "https://example.com/$DEVICE_ID$", headers: [{ key: "X-Key", value: "v" }] } as never,
    });
    assert.deepEqual((await r.actions.info(action)).action, { type: "post", url: "https://example.com/$DEVICE_ID$", headers: { "X-Key": "v" } });
    const create = (params: Record<string, unknown>) => r.actions.create({ name: "bad", type: "mqtt_topic", trigger: [{ device: "d1", topic: "t" } as never], action: { type: "post", ...params } as never });
    await assert.rejects(create({ url: "ftp://example.com" }), /http:\/\/ or https:\/\//);
    await assert.rejects(create({ url: "not a url" }), /is not a URL/);
    await assert.rejects(create({}), /action.url is required/);
    await assert.rejects(create({ url: "http://x", headers: { "Content-Length": "1" } }), /set by Sluice/);
    await assert.rejects(create({ url: "http://x", headers: { "Bad Name": "1" } }), /not a header name/);
  });

  test("a failing endpoint (500) is retried with growing delays, then dead-lettered: inspector and HTTP list", async () => {
    const hook = await sink();
    hook.respond = () => 500;
    const dev = await sluice.device();
    const actionId = await postAction(dev.deviceId, "fail", `${hook.url}/fail`);
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.publishAsync("fail", JSON.stringify({ variable: "x", value: 1 }), { qos: 1 });

    const reqs = await hook.waitFor(3);
    const gap1 = reqs[1]!.at - reqs[0]!.at;
    const gap2 = reqs[2]!.at - reqs[1]!.at;
    assert.ok(gap1 >= BASE_DELAY - 5, `first retry after ~${BASE_DELAY} ms, was ${gap1}`);
    assert.ok(gap2 >= 2 * BASE_DELAY - 5, `second retry after ~${2 * BASE_DELAY} ms, was ${gap2}`);

    const letters = await until(async () => {
      const { body } = await api_<DeadLetterJson[]>(`/action/${actionId}/dead_letters`);
      return body.result.length > 0 ? body.result : undefined;
    });
    assert.equal(letters.length, 1);
    const letter = letters[0]!;
    assert.equal(letter.url, `${hook.url}/fail`);
    assert.equal(letter.status, 500);
    assert.equal(letter.attempts, 3);
    assert.match(letter.error, /HTTP 500/);
    assert.equal(letter.device, dev.deviceId);
    assert.deepEqual(letter.body.data.map((r) => [r.variable, r.value]), [["x", 1]]);
    await new Promise((r) => setTimeout(r, 4 * BASE_DELAY));
    assert.equal(hook.requests.length, 3, "no attempt after the last one");

    const { body: inspector } = await api_<{ kind: string; summary: string; detail: Record<string, unknown> }[]>(`/device/${dev.deviceId}/inspector?limit=100`);
    const event = inspector.result.find((e) => e.kind === "dead_letter");
    assert.ok(event, `a dead_letter event in ${JSON.stringify(inspector.result.map((e) => e.kind))}`);
    assert.match(event.summary, /failed after 3 attempts: HTTP 500/);
    assert.equal(event.detail.url, `${hook.url}/fail`);
    assert.equal(event.detail.status, 500);
    assert.equal(event.detail.attempts, 3);

    const cleared = await api_<string>(`/action/${actionId}/dead_letters`, { method: "DELETE" });
    assert.equal(cleared.body.result, "1 dead letter removed");
    assert.deepEqual((await api_<unknown[]>(`/action/${actionId}/dead_letters`)).body.result, []);
    assert.equal((await api_<unknown>(`/action/000000000000000000000000/dead_letters`)).status, 404);
  });

  test("an endpoint that comes back after failures (500, then 503) gets the delivery once, with no dead letter", async () => {
    const hook = await sink();
    hook.respond = (n) => (n === 0 ? 500 : n === 1 ? 503 : 200);
    const dev = await sluice.device();
    const actionId = await postAction(dev.deviceId, "flaky", `${hook.url}/flaky`);
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.publishAsync("flaky", JSON.stringify({ variable: "y", value: 2 }), { qos: 1 });
    const reqs = await hook.waitFor(3);
    assert.deepEqual(reqs.map((r) => (r.body as { data: { value: number }[] }).data[0]!.value), [2, 2, 2]);
    await new Promise((r) => setTimeout(r, 4 * BASE_DELAY));
    assert.equal(hook.requests.length, 3);
    assert.deepEqual((await api_<unknown[]>(`/action/${actionId}/dead_letters`)).body.result, []);
  });

  test("a 4xx answer other than 408/429 is not retried; an unreachable endpoint is retried then dead-lettered", async () => {
    const hook = await sink();
    hook.respond = () => 404;
    const dev = await sluice.device();
    const gone = await postAction(dev.deviceId, "gone", `${hook.url}/gone`);
    // A port nobody listens on: connection refused on every attempt.
    const closed = await startWebhookSink();
    const deadUrl = `${closed.url}/nobody`;
    await closed.close();
    const refused = await postAction(dev.deviceId, "refused", deadUrl);
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.publishAsync("gone", "1", { qos: 1 });
    await client.publishAsync("refused", "1", { qos: 1 });
    const [goneLetter] = await until(async () => {
      const { body } = await api_<DeadLetterJson[]>(`/action/${gone}/dead_letters`);
      return body.result.length > 0 ? body.result : undefined;
    });
    assert.equal(goneLetter!.attempts, 1);
    assert.equal(goneLetter!.status, 404);
    assert.equal(hook.requests.length, 1);
    const [refusedLetter] = await until(async () => {
      const { body } = await api_<DeadLetterJson[]>(`/action/${refused}/dead_letters`);
      return body.result.length > 0 ? body.result : undefined;
    });
    assert.equal(refusedLetter!.attempts, 3);
    assert.equal(refusedLetter!.status, null);
    assert.match(refusedLetter!.error, /ECONNREFUSED/);

    // One dead letter goes by its id, under its own action only.
    assert.equal((await api_<unknown>(`/action/${gone}/dead_letters/${refusedLetter!.id}`, { method: "DELETE" })).status, 404);
    const removed = await api_<string>(`/action/${refused}/dead_letters/${refusedLetter!.id}`, { method: "DELETE" });
    assert.equal(removed.body.result, "1 dead letter removed");
    assert.deepEqual((await api_<unknown[]>(`/action/${refused}/dead_letters`)).body.result, []);
    assert.equal((await api_<unknown[]>(`/action/${gone}/dead_letters`)).body.result.length, 1);
    const again = await api_<unknown>(`/action/${refused}/dead_letters/${refusedLetter!.id}`, { method: "DELETE" });
    assert.equal(again.status, 404);
    assert.equal(again.body.message, "Dead letter not found");
  });

  test("delivery never holds the pipeline: a hanging endpoint does not delay storage or PUBACK; pending deliveries are bounded", async () => {
    const hook = await sink();
    hook.respond = () => "hang";
    const dev = await sluice.device();
    const r = resources();
    await r.actions.create({ name: "store", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "slow" } as never], action: { type: "insert_bucket" } as never });
    const actionId = await postAction(dev.deviceId, "slow", `${hook.url}/slow`);
    const client = await sluice.connect({ username: "Token", password: dev.token });
    const started = Date.now();
    for (let i = 0; i < 6; i++) await client.publishAsync("slow", JSON.stringify({ variable: "n", value: i }), { qos: 1 });
    assert.ok(Date.now() - started < 1500, `6 acks took ${Date.now() - started} ms`);
    const stored = await new Device({ token: dev.token, region: { api, sse: `${api}/events` } }).getData({ variables: ["n"], qty: 10 } as never);
    assert.equal(stored.length, 6, "stored whatever the webhook does");
    // maxPending is 4: the 5th and 6th deliveries are dead-lettered without an attempt.
    const letters = await until(async () => {
      const { body } = await api_<DeadLetterJson[]>(`/action/${actionId}/dead_letters`);
      return body.result.length >= 2 ? body.result : undefined;
    });
    assert.ok(letters.every((l) => l.attempts === 0 && /too many webhook deliveries pending/.test(l.error)), JSON.stringify(letters));
    assert.ok(hook.requests.length <= 4);
  });
});
