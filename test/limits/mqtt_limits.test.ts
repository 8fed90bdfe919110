import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IConnackPacket, IDisconnectPacket, IPubackPacket, Packet } from "mqtt-packet";
import type { PlanConfig } from "../../src/limits/plans.js";
import { RawClient, uid } from "../helpers/raw_mqtt.js";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";

// Plans at the MQTT point of entry, with real clients on a real broker: every account here
// gets the plan "tiny" unless the admin gives it another.
const TINY: PlanConfig = {
  connections: 3,
  connectionsPerDevice: 2,
  publishesPerMinute: 1000,
  publishesPerMinutePerConnection: 5,
  subscriptionsPerConnection: 2,
  maxPayloadBytes: 64,
  flapping: { connects: 6, windowSeconds: 60, blockSeconds: 60 },
};

let sluice: TestSluice;
let api: string;
before(async () => {
  sluice = await startSluice({ plans: { tiny: TINY, nobroker: { features: { broker: false } } }, defaultPlan: "tiny" });
  api = sluice.api;
});
after(() => sluice.close());

const QUOTA_EXCEEDED = 0x97;
const MESSAGE_RATE_TOO_HIGH = 0x96;

/** A fresh account on `plan` (by the admin API), with one device. */
async function accountOn(plan: string | null) {
  const created = await call("POST", "/admin/account", sluice.adminToken, { name: uid("acct"), ...(plan !== null && { plan }) });
  const { account_id: accountId, token } = created as { account_id: string; token: string };
  return { accountId, token, device: () => sluice.device({ accountId }) };
}

async function call(method: string, path: string, token: string, body?: unknown): Promise<unknown> {
  const response = await fetch(api + path, { method, headers: { token, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await response.json()) as { status: boolean; result: unknown; message?: string };
  assert.equal(response.status, 200, json.message);
  return json.result;
}

const connect = (token: string, version: 4 | 5 = 5, clientId = uid("c")) => RawClient.connect(sluice.ports.mqtt, { protocolVersion: version, password: token, clientId });

async function puback(client: RawClient, messageId: number): Promise<IPubackPacket> {
  return (await client.next("puback", (p) => (p as IPubackPacket).messageId === messageId)) as IPubackPacket;
}

async function inspectorErrors(accountToken: string, deviceId: string): Promise<{ summary: string; detail: { limit?: string } }[]> {
  return (await call("GET", `/device/${deviceId}/inspector?kinds=error`, accountToken)) as { summary: string; detail: { limit?: string } }[];
}

describe("plans over MQTT", () => {
  test("connections per device: CONNACK 0x97 past the plan's count; a takeover with the same client id still works", async () => {
    const { device, token } = await accountOn("tiny");
    const dev = await device();
    const first = await connect(dev.token, 5, "same-id");
    await connect(dev.token, 5);
    const third = await connect(dev.token, 5);
    assert.equal(third.connack.reasonCode, QUOTA_EXCEEDED);
    const legacy = await connect(dev.token, 4);
    assert.equal(legacy.connack.returnCode, 3, "3.1.1 gets 'server unavailable'");
    const takeover = await connect(dev.token, 5, "same-id");
    assert.equal(takeover.connack.reasonCode, 0);
    await first.client.closed;
    const errors = await inspectorErrors(token, dev.deviceId);
    assert.ok(errors.some((e) => e.detail.limit === "connectionsPerDevice"), JSON.stringify(errors));
  });

  test("connections per account: CONNACK 0x97 past the plan's count; other accounts are not affected", async () => {
    const busy = await accountOn("tiny");
    for (let i = 0; i < 3; i++) assert.equal((await connect((await busy.device()).token)).connack.reasonCode, 0);
    assert.equal((await connect((await busy.device()).token)).connack.reasonCode, QUOTA_EXCEEDED);
    const calm = await accountOn("tiny");
    assert.equal((await connect((await calm.device()).token)).connack.reasonCode, 0);
  });

  test("flapping: a device that reconnects too often is refused with 0x9F", async () => {
    const { device } = await accountOn("tiny");
    const dev = await device();
    for (let i = 0; i < 6; i++) {
      const { client, connack } = await connect(dev.token);
      assert.equal(connack.reasonCode, 0);
      await client.disconnect();
    }
    const { connack } = await connect(dev.token);
    assert.equal(connack.reasonCode, 0x9f);
  });

  test("a plan without broker access refuses CONNECT with 0x87", async () => {
    const { device } = await accountOn("nobroker");
    const { connack } = await connect((await device()).token);
    assert.equal(connack.reasonCode, 0x87);
  });

  test("publish rate per connection: PUBACK 0x97 past it, QoS 0 dropped, and a flooder is disconnected with 0x96", async () => {
    const { device, token } = await accountOn("tiny");
    const dev = await device();
    const watcher = await sluice.connect({ username: "Token", password: (await device()).token });
    await watcher.subscribeAsync("rate/#");
    const { client } = await connect(dev.token);
    const got = nextMessages(watcher, 5);
    for (let id = 1; id <= 5; id++) {
      client.send({ cmd: "publish", topic: "rate/t", payload: Buffer.from(String(id)), qos: 1, messageId: id, retain: false, dup: false } as Packet);
      assert.equal((await puback(client, id)).reasonCode ?? 0, 0);
    }
    await got;
    client.send({ cmd: "publish", topic: "rate/t", payload: Buffer.from("6"), qos: 1, messageId: 6, retain: false, dup: false } as Packet);
    assert.equal((await puback(client, 6)).reasonCode, QUOTA_EXCEEDED);
    client.send({ cmd: "publish", topic: "rate/t", payload: Buffer.from("qos0"), qos: 0, retain: false, dup: false } as Packet);
    // Refusals past the allowance (10 here) count as flooding.
    for (let id = 7; id < 30; id++) client.send({ cmd: "publish", topic: "rate/t", payload: Buffer.from("x"), qos: 1, messageId: id, retain: false, dup: false } as Packet);
    const disconnect = (await client.next("disconnect")) as IDisconnectPacket;
    assert.equal(disconnect.reasonCode, MESSAGE_RATE_TOO_HIGH);
    assert.equal(await new Promise<boolean>((r) => watcher.once("message", () => r(false)) && setTimeout(() => r(true), 200)), true, "nothing past the limit was routed");
    const errors = await inspectorErrors(token, dev.deviceId);
    assert.ok(errors.some((e) => e.detail.limit === "publishesPerMinutePerConnection"));
    assert.ok(errors.some((e) => /flooding/.test(e.summary)));
  });

  test("MQTT 3.1.1: a QoS 1 PUBLISH over the rate closes the connection unacknowledged", async () => {
    const { device } = await accountOn("tiny");
    const { client } = await connect((await device()).token, 4);
    for (let id = 1; id <= 5; id++) {
      client.send({ cmd: "publish", topic: "r", payload: Buffer.from("x"), qos: 1, messageId: id, retain: false, dup: false } as Packet);
      await puback(client, id);
    }
    client.send({ cmd: "publish", topic: "r", payload: Buffer.from("x"), qos: 1, messageId: 6, retain: false, dup: false } as Packet);
    await client.closed;
    assert.equal(client.received.some((p) => p.cmd === "puback" && (p as IPubackPacket).messageId === 6), false);
  });

  test("payload ceiling: PUBACK 0x97 for a payload over the plan's size", async () => {
    const { device } = await accountOn("tiny");
    const { client } = await connect((await device()).token);
    client.send({ cmd: "publish", topic: "big", payload: Buffer.alloc(65), qos: 1, messageId: 1, retain: false, dup: false } as Packet);
    assert.equal((await puback(client, 1)).reasonCode, QUOTA_EXCEEDED);
  });

  test("subscriptions per connection: SUBACK 0x97 (5.0) or 0x80 (3.1.1) past the plan's count; resubscribing is free", async () => {
    const { device } = await accountOn("tiny");
    const dev = await device();
    const { client } = await connect(dev.token);
    assert.deepEqual(await client.subscribe("a/1"), [0]);
    assert.deepEqual(await client.subscribe("a/2"), [0]);
    assert.deepEqual(await client.subscribe("a/1", { qos: 1 }), [1]);
    assert.deepEqual(await client.subscribe("a/3"), [QUOTA_EXCEEDED]);
    const legacy = await connect(dev.token, 4);
    await legacy.client.subscribe("b/1");
    await legacy.client.subscribe("b/2");
    assert.deepEqual(await legacy.client.subscribe("b/3"), [0x80]);
  });

  test("an account moved to another plan gets its limits at once", async () => {
    const { accountId, device } = await accountOn("tiny");
    await call("PUT", `/admin/account/${accountId}/plan`, sluice.adminToken, { plan: "unlimited" });
    const { client } = await connect((await device()).token);
    for (let id = 1; id <= 20; id++) {
      client.send({ cmd: "publish", topic: "free", payload: Buffer.from("x"), qos: 1, messageId: id, retain: false, dup: false } as Packet);
      assert.equal((await puback(client, id)).reasonCode ?? 0, 0);
    }
    const connack: IConnackPacket = (await connect((await device()).token)).connack;
    assert.equal(connack.reasonCode, 0);
  });
});
