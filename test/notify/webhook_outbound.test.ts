import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";
import { startWebhookSink, type WebhookSink } from "../helpers/webhook_sink.js";

// outbound.allowPrivateTargets: false for webhooks: a `post` action cannot reach loopback,
// private or metadata addresses, and its dead letter cannot tell an open port from a closed one.

let sluice: TestSluice;
let hook: WebhookSink;
before(async () => {
  sluice = await startSluice({
    outbound: { allowPrivateTargets: false },
    webhooks: { ...defaultConfig.webhooks, attempts: 3, baseDelayMs: 50, maxDelayMs: 200, timeoutMs: 2000 },
  });
  hook = await startWebhookSink();
});
after(async () => {
  await sluice.close();
  await hook.close();
});

async function api<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: { status: boolean; result: T; message?: string } }> {
  const res = await fetch(`${sluice.api}${path}`, { ...init, headers: { token: sluice.adminToken, "content-type": "application/json", ...init.headers } });
  return { status: res.status, body: (await res.json()) as { status: boolean; result: T; message?: string } };
}

const createPost = (deviceId: string, topic: string, url: string) =>
  api<{ action: string }>("/action", {
    method: "POST",
    body: JSON.stringify({ name: `hook ${topic}`, type: "mqtt_topic", trigger: [{ device: deviceId, topic }], action: { type: "post", url } }),
  });

describe("webhooks with outbound.allowPrivateTargets false", () => {
  test("an action whose URL is a private IP literal is refused when created (400)", async () => {
    const dev = await sluice.device();
    for (const url of ["http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8080/", "http://[::ffff:127.0.0.1]/", "http://2130706433/", "http://[fd00::1]/"]) {
      const r = await createPost(dev.deviceId, "lit", url);
      assert.equal(r.status, 400, url);
      assert.match(r.body.message ?? "", /refused by outbound\.allowPrivateTargets/, url);
    }
  });

  test("a name resolving to loopback is refused at delivery: one attempt, the same dead letter for an open and a closed port", async () => {
    const dev = await sluice.device();
    const openPort = new URL(hook.url).port;
    const closed = await startWebhookSink();
    const closedPort = new URL(closed.url).port;
    await closed.close();
    const open = await createPost(dev.deviceId, "open", `http://localhost:${openPort}/in`);
    const shut = await createPost(dev.deviceId, "shut", `http://localhost:${closedPort}/in`);
    assert.equal(open.status, 200, open.body.message);
    assert.equal(shut.status, 200, shut.body.message);
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.publishAsync("open", JSON.stringify({ variable: "x", value: 1 }), { qos: 1 });
    await client.publishAsync("shut", JSON.stringify({ variable: "x", value: 1 }), { qos: 1 });
    const letterOf = (id: string) =>
      until(async () => {
        const { body } = await api<{ attempts: number; status: number | null; error: string }[]>(`/action/${id}/dead_letters`);
        return body.result.length > 0 ? body.result[0] : undefined;
      });
    const a = await letterOf(open.body.result.action);
    const b = await letterOf(shut.body.result.action);
    assert.match(a.error, /refused by outbound\.allowPrivateTargets/);
    assert.equal(a.error, b.error, "the open and the closed port read the same");
    assert.equal(a.attempts, 1, "a refusal is not retried");
    assert.equal(a.status, null);
    assert.equal(hook.requests.length, 0, "nothing reached the local server");
  });
});
