import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IPubackPacket, Packet } from "mqtt-packet";
import { RawClient, uid } from "../helpers/raw_mqtt.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Plans over HTTP and on stored records: request rates (429 + Retry-After, TagoIO's wording),
// ceilings (403), monthly quotas that survive a restart, the usage report and usage alerts.

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice({
    plans: { small: { devices: 2, http: { data: 3 }, recordsPerMinute: 5, relays: 1, maxPayloadBytes: 16 * 1024 }, monthly: { recordsPerMonth: 10 } },
    defaultPlan: "small",
  });
});
after(() => sluice.close());

async function request(target: TestSluice, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${target.api}${path}`, {
    method, headers: { token, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body: (await response.json()) as { status: boolean; result: unknown; message: string } };
}

async function accountOn(target: TestSluice, plan: string) {
  const created = await request(target, "POST", "/admin/account", target.adminToken, { name: uid("acct"), plan });
  assert.equal(created.status, 200, created.body.message);
  const { account_id: accountId, token } = created.body.result as { account_id: string; token: string };
  return { accountId, token, device: () => target.device({ accountId }) };
}

describe("plans over HTTP", () => {
  test("data requests past the rate get 429 with Retry-After, per account", async () => {
    const acct = await accountOn(sluice, "small");
    const dev = await acct.device();
    for (let i = 0; i < 3; i++) assert.equal((await request(sluice, "GET", "/data?variables=x", dev.token)).status, 200);
    const refused = await request(sluice, "POST", "/data", dev.token, { variable: "x", value: 1 });
    assert.equal(refused.status, 429);
    assert.match(refused.body.message, /^Too many requests \(Retry-After: \d+\)/);
    assert.ok(Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= 60);
    const events = (await request(sluice, "GET", `/device/${dev.deviceId}/inspector?kinds=error`, acct.token)).body.result as { summary: string; detail: { limit: string } }[];
    assert.equal(events[0]!.detail.limit, "http.data");
    assert.match(events[0]!.summary, /^POST \/data refused/);
    const other = await accountOn(sluice, "small");
    assert.equal((await request(sluice, "GET", "/data?variables=x", (await other.device()).token)).status, 200);
  });

  test("a body past the plan's size is refused with 413, with or without Content-Length", async () => {
    const acct = await accountOn(sluice, "small");
    const big = JSON.stringify({ name: "x".repeat(64 * 1024) });
    const declared = await fetch(`${sluice.api}/device`, { method: "POST", headers: { token: acct.token, "content-type": "application/json" }, body: big });
    assert.equal(declared.status, 413);
    // A streamed body carries no Content-Length: only counting its bytes bounds it.
    const chunked = await fetch(`${sluice.api}/device`, {
      method: "POST", headers: { token: acct.token, "content-type": "application/json" }, duplex: "half",
      body: new ReadableStream({ start(controller) { controller.enqueue(new TextEncoder().encode(big)); controller.close(); } }),
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.match(((await chunked.json()) as { message: string }).message, /plan's 16384 bytes/);
    assert.equal((await request(sluice, "POST", "/device", acct.token, { name: "small enough" })).status, 200);
  });

  test("creating devices past the plan's count is refused with 403", async () => {
    const acct = await accountOn(sluice, "small");
    for (let i = 0; i < 2; i++) assert.equal((await request(sluice, "POST", "/device", acct.token, { name: `d${i}` })).status, 200);
    const refused = await request(sluice, "POST", "/device", acct.token, { name: "d3" });
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /2 devices/);
  });

  test("an encoded path is classified by the route it reaches: /devic%65 meets the device ceiling", async () => {
    const acct = await accountOn(sluice, "small");
    for (let i = 0; i < 2; i++) assert.equal((await request(sluice, "POST", "/devic%65", acct.token, { name: `d${i}` })).status, 200);
    const refused = await request(sluice, "POST", "/devic%65", acct.token, { name: "d3" });
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /2 devices/);
  });

  test("an encoded path, HEAD or an encoded query meets the data rate: /%64ata, /d%61ta, HEAD /data", async () => {
    const acct = await accountOn(sluice, "small");
    const dev = await acct.device();
    assert.equal((await request(sluice, "POST", "/%64ata", dev.token, { variable: "x", value: 1 })).status, 200);
    assert.equal((await request(sluice, "GET", "/d%61ta?variables=x", dev.token)).status, 200);
    const head = await fetch(`${sluice.api}/data?variables=x`, { method: "HEAD", headers: { token: dev.token } });
    assert.equal(head.status, 200);
    const refused = await request(sluice, "POST", "/%64ata", dev.token, { variable: "x", value: 2 });
    assert.equal(refused.status, 429);
  });

  test("an aggregate query is classified on the parsed query, however it is encoded", async () => {
    const target = await startSluice({ plans: { agg: { http: { aggregate: 1 } } }, defaultPlan: "agg" });
    try {
      const dev = await target.device();
      const aggregate = "/data?variables=x&query=aggregate&interval=hour&function=avg";
      assert.equal((await request(target, "GET", aggregate.replace("aggregate", "%61ggregate"), dev.token)).status, 200);
      assert.equal((await request(target, "GET", aggregate, dev.token)).status, 429);
    } finally {
      await target.close();
    }
  });

  test("relays past the plan's count are refused with 403", async () => {
    const acct = await accountOn(sluice, "small");
    // Port 9 (discard) on loopback: nothing answers, the relay just keeps retrying in the background.
    const relay = { name: "r", host: "127.0.0.1", port: 9, subscriptions: ["x/#"], mapping: { source: "topic", index: -1 }, reconnect_min_ms: 60_000, reconnect_max_ms: 60_000 };
    assert.equal((await request(sluice, "POST", "/relay", acct.token, relay)).status, 200);
    const refused = await request(sluice, "POST", "/relay", acct.token, { ...relay, name: "r2" });
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /1 relays/);
  });

  test("only the admin account manages accounts", async () => {
    const acct = await accountOn(sluice, "small");
    assert.equal((await request(sluice, "GET", "/admin/account", acct.token)).status, 403);
    assert.equal((await request(sluice, "POST", "/admin/account", sluice.adminToken, { name: "x", plan: "gold" })).status, 400);
  });
});

describe("plans on stored records", () => {
  test("MQTT: a message whose records are over the per-minute rate gets PUBACK 0x97 and is not stored", async () => {
    const acct = await accountOn(sluice, "small");
    const dev = await acct.device();
    const action = await request(sluice, "POST", "/action", acct.token, { name: "store", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "up" }], action: { type: "insert_bucket" } });
    assert.equal(action.status, 200);
    const { client } = await RawClient.connect(sluice.ports.mqtt, { protocolVersion: 5, password: dev.token, clientId: uid("c") });
    const three = JSON.stringify([1, 2, 3].map((value) => ({ variable: "n", value })));
    for (const messageId of [1, 2]) client.send({ cmd: "publish", topic: "up", payload: Buffer.from(three), qos: 1, messageId, retain: false, dup: false } as Packet);
    const acks = [(await client.next("puback")) as IPubackPacket, (await client.next("puback")) as IPubackPacket];
    assert.deepEqual(acks.map((a) => a.reasonCode ?? 0), [0, 0x97]);
    const stored = await request(sluice, "GET", "/data?variables=n&qty=10", dev.token);
    assert.equal((stored.body.result as unknown[]).length, 3);
  });

  test("MQTT 3.1.1: records over the rate close the connection without the PUBACK", async () => {
    const acct = await accountOn(sluice, "small");
    const dev = await acct.device();
    assert.equal((await request(sluice, "POST", "/action", acct.token, { name: "store", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "up" }], action: { type: "insert_bucket" } })).status, 200);
    const { client } = await RawClient.connect(sluice.ports.mqtt, { protocolVersion: 4, password: dev.token, clientId: uid("c") });
    const four = JSON.stringify([1, 2, 3, 4].map((value) => ({ variable: "n", value })));
    client.send({ cmd: "publish", topic: "up", payload: Buffer.from(four), qos: 1, messageId: 1, retain: false, dup: false } as Packet);
    await client.next("puback");
    client.send({ cmd: "publish", topic: "up", payload: Buffer.from(four), qos: 1, messageId: 2, retain: false, dup: false } as Packet);
    await client.closed;
    assert.equal(client.received.filter((p) => p.cmd === "puback").length, 1);
  });

  test("HTTP: a batch larger than a minute's allowance is refused for good (403, no Retry-After)", async () => {
    const acct = await accountOn(sluice, "small");
    const dev = await acct.device();
    const refused = await request(sluice, "POST", "/data", dev.token, [1, 2, 3, 4, 5, 6].map((value) => ({ variable: "n", value })));
    assert.equal(refused.status, 403);
    assert.equal(refused.retryAfter, null);
  });

  test("the monthly quota counts across a restart; the usage report shows it; a usage alert fires at its share", async () => {
    const first = await startSluice({ plans: { monthly: { recordsPerMonth: 10 } }, defaultPlan: "monthly" });
    const dataDir = first.dataDir;
    const dev = await first.device();
    const alert = await request(first, "POST", "/action", first.adminToken, {
      name: "records at half", type: "usage_alert",
      trigger: [{ service_or_resource: "data_records", condition: ">", condition_value: 50 }],
      action: { type: "notification", message: "$REASON$", subject: "Usage alert" },
    });
    assert.equal(alert.status, 200, alert.body.message);
    const six = [1, 2, 3, 4, 5, 6].map((value) => ({ variable: "n", value }));
    assert.equal((await request(first, "POST", "/data", dev.token, six)).status, 200);
    const notes = (await request(first, "GET", "/notification", first.adminToken)).body.result as { title: string; message: string }[];
    assert.equal(notes.length, 1);
    assert.equal(notes[0]!.title, "Usage alert");
    assert.match(notes[0]!.message, /data_records at 50%/);
    await first.close({ keepData: true });

    const second = await startSluice({ plans: { monthly: { recordsPerMonth: 10 } }, defaultPlan: "monthly" }, dataDir);
    try {
      const refused = await request(second, "POST", "/data", dev.token, [1, 2, 3, 4, 5].map((value) => ({ variable: "n", value })));
      assert.equal(refused.status, 429);
      assert.match(refused.body.message, /10 records per month are used up/);
      assert.equal((await request(second, "POST", "/data", dev.token, [{ variable: "n", value: 7 }])).status, 200);
      const usage = (await request(second, "GET", "/account/usage", second.adminToken)).body.result as { plan: string; usage: Record<string, { used: number; limit: number | null }> };
      assert.equal(usage.plan, "monthly");
      assert.deepEqual(usage.usage.recordsPerMonth, { used: 7, limit: 10 });
      assert.deepEqual(usage.usage.devices, { used: 1, limit: null });
      const summary = (await request(second, "GET", "/profile/current/summary", second.adminToken)).body.result as { limit_used: { data_records: number } };
      assert.equal(summary.limit_used.data_records, 7);
    } finally {
      await second.close();
    }
  });
});
