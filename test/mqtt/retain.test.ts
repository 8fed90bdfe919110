import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IPublishPacket } from "mqtt-packet";
import { noPacket, RawClient, sleep, uid } from "../helpers/raw_mqtt.js";
import { nextMessages, noMessage, startSluice, type TestSluice } from "../helpers/sluice.js";

// Retained messages (3.1.1 §3.3.1.3; 5.0 §3.3.1.3, §3.8.3.1 Retain Handling and Retain As
// Published, §4.8.2 shared subscriptions).

let sluice: TestSluice;
let token: string;
before(async () => {
  sluice = await startSluice();
  token = (await sluice.device()).token;
});
after(() => sluice.close());

async function retain(topic: string, payload: string, qos: 0 | 1 | 2 = 1, properties?: Record<string, unknown>): Promise<void> {
  const pub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
  await pub.publishAsync(topic, payload, { qos, retain: true, properties });
  await pub.endAsync();
}

async function raw(protocolVersion: 4 | 5): Promise<RawClient> {
  return (await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion })).client;
}

// The tests are independent (own topics, client ids, accounts): they run concurrently.
describe("retained messages", { concurrency: true }, () => {
  for (const protocolVersion of [4, 5] as const) {
    const v = protocolVersion === 5 ? "5.0" : "3.1.1";

    test(`${v}: a retained message is sent to a new subscriber with the retain flag set`, async () => {
      const topic = uid("r/");
      await retain(topic, "last known");
      const sub = await raw(protocolVersion);
      await sub.subscribe(topic, { qos: 1 });
      const p = (await sub.next("publish")) as IPublishPacket;
      assert.equal(p.payload.toString(), "last known");
      assert.equal(p.retain, true);
      await sub.disconnect();
    });

    test(`${v}: a retained message is sent after the SUBACK`, async () => {
      const topic = uid("r/");
      await retain(topic, "x");
      const sub = await raw(protocolVersion);
      await sub.subscribe(topic, { qos: 1 });
      await sub.next("publish");
      const kinds = sub.received.map((p) => p.cmd);
      assert.ok(kinds.indexOf("suback") < kinds.indexOf("publish"));
      await sub.disconnect();
    });

    test(`${v}: only the last retained message of a topic is kept`, async () => {
      const topic = uid("r/");
      await retain(topic, "first");
      await retain(topic, "second");
      const sub = await raw(protocolVersion);
      await sub.subscribe(topic, { qos: 1 });
      assert.equal(((await sub.next("publish")) as IPublishPacket).payload.toString(), "second");
      assert.equal(await noPacket(sub, "publish", 150), true);
      await sub.disconnect();
    });

    test(`${v}: a retained message with an empty payload clears the topic's retained message`, async () => {
      const topic = uid("r/");
      await retain(topic, "something");
      await retain(topic, "");
      const sub = await raw(protocolVersion);
      await sub.subscribe(topic, { qos: 1 });
      assert.equal(await noPacket(sub, "publish", 200), true);
      await sub.disconnect();
    });

    test(`${v}: a retained message with an empty payload is still delivered to current subscribers`, async () => {
      const topic = uid("r/");
      const sub = await sluice.connect({ username: "Token", password: token, protocolVersion });
      await sub.subscribeAsync(topic, { qos: 1 });
      const got = nextMessages(sub);
      await retain(topic, "");
      assert.equal((await got)[0]!.payload, "");
    });

    test(`${v}: a wildcard subscription gets every matching retained message`, async () => {
      const base = uid("r/");
      await retain(`${base}/a/x`, "ax");
      await retain(`${base}/b/x`, "bx");
      await retain(`${base}/b/y`, "by");
      const sub = await raw(protocolVersion);
      await sub.subscribe(`${base}/+/x`, { qos: 1 });
      const ps = await sub.publishes(2);
      assert.deepEqual(ps.map((p) => p.payload.toString()).sort(), ["ax", "bx"]);
      assert.equal(await noPacket(sub, "publish", 150), true);
      await sub.disconnect();
    });

    test(`${v}: a retained message is sent at the lower of its QoS and the subscription's`, async () => {
      const topic = uid("r/");
      await retain(topic, "q2", 2);
      const sub = await raw(protocolVersion);
      await sub.subscribe(topic, { qos: 1 });
      assert.equal(((await sub.next("publish")) as IPublishPacket).qos, 1);
      await sub.disconnect();
    });

    test(`${v}: a message forwarded to an existing subscription has the retain flag cleared`, async () => {
      const topic = uid("r/");
      const sub = await raw(protocolVersion);
      await sub.subscribe(topic, { qos: 1 });
      await retain(topic, "live");
      const p = (await sub.next("publish")) as IPublishPacket;
      assert.equal(p.payload.toString(), "live");
      assert.equal(p.retain, false);
      await sub.disconnect();
    });

    test(`${v}: retained messages are per account`, async () => {
      const topic = uid("r/");
      await retain(topic, "mine");
      const otherToken = (await sluice.device({ accountId: await sluice.account() })).token;
      const { client } = await RawClient.connect(sluice.ports.mqtt, { password: otherToken, protocolVersion });
      await client.subscribe("#", { qos: 1 });
      await client.subscribe(topic, { qos: 1 });
      assert.equal(await noPacket(client, "publish", 200), true);
      await client.disconnect();
    });

    test(`${v}: a shared subscription gets no retained messages`, async () => {
      const topic = uid("r/");
      await retain(topic, "not for groups");
      const sub = await raw(protocolVersion);
      await sub.subscribe(`$share/g/${topic}`, { qos: 1 });
      assert.equal(await noPacket(sub, "publish", 200), true);
      await sub.disconnect();
    });
  }

  test("5.0: Retain Handling 0 sends retained messages on every SUBSCRIBE, even a repeated one", async () => {
    const topic = uid("r/");
    await retain(topic, "x");
    const sub = await raw(5);
    await sub.subscribe(topic, { qos: 1, rh: 0 });
    await sub.next("publish");
    await sub.subscribe(topic, { qos: 1, rh: 0 });
    assert.equal(((await sub.next("publish")) as IPublishPacket).retain, true);
    await sub.disconnect();
  });

  test("5.0: Retain Handling 1 sends retained messages only when the subscription is new", async () => {
    const topic = uid("r/");
    await retain(topic, "x");
    const sub = await raw(5);
    await sub.subscribe(topic, { qos: 1, rh: 1 });
    assert.equal(((await sub.next("publish")) as IPublishPacket).payload.toString(), "x");
    await sub.subscribe(topic, { qos: 1, rh: 1 });
    assert.equal(await noPacket(sub, "publish", 200), true);
    await sub.disconnect();
  });

  test("5.0: Retain Handling 2 never sends retained messages", async () => {
    const topic = uid("r/");
    await retain(topic, "x");
    const sub = await raw(5);
    await sub.subscribe(topic, { qos: 1, rh: 2 });
    assert.equal(await noPacket(sub, "publish", 200), true);
    await sub.disconnect();
  });

  test("5.0: Retain As Published keeps the retain flag on forwarded messages", async () => {
    const topic = uid("r/");
    const sub = await raw(5);
    await sub.subscribe(topic, { qos: 1, rap: true });
    await retain(topic, "kept flag");
    const p = (await sub.next("publish")) as IPublishPacket;
    assert.equal(p.retain, true);
    const pub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
    await pub.publishAsync(topic, "not retained", { qos: 1 });
    assert.equal(((await sub.next("publish")) as IPublishPacket).retain, false, "a message published without retain stays without");
    await sub.disconnect();
  });

  test("5.0: without Retain As Published, forwarded messages have the retain flag cleared", async () => {
    const topic = uid("r/");
    const sub = await raw(5);
    await sub.subscribe(topic, { qos: 1, rap: false });
    await retain(topic, "cleared flag");
    assert.equal(((await sub.next("publish")) as IPublishPacket).retain, false);
    await sub.disconnect();
  });

  test("5.0: a retained message keeps its properties", async () => {
    const topic = uid("r/");
    await retain(topic, "x", 1, { contentType: "application/json", userProperties: { unit: "C" } });
    const sub = await raw(5);
    await sub.subscribe(topic, { qos: 1 });
    const p = (await sub.next("publish")) as IPublishPacket;
    assert.equal(p.properties?.contentType, "application/json");
    assert.deepEqual({ ...p.properties?.userProperties }, { unit: "C" });
    await sub.disconnect();
  });

  test("5.0: a retained message is no longer sent once its Message Expiry Interval has passed", async () => {
    const topic = uid("r/");
    await retain(topic, "short-lived", 1, { messageExpiryInterval: 1 });
    await sleep(1100);
    const sub = await raw(5);
    await sub.subscribe(topic, { qos: 1 });
    assert.equal(await noPacket(sub, "publish", 200), true);
    await sub.disconnect();
  });

  test("5.0: a retained message sent to a new subscriber carries the expiry interval it has left", async () => {
    const topic = uid("r/");
    await retain(topic, "x", 1, { messageExpiryInterval: 60 });
    await sleep(1100);
    const sub = await raw(5);
    await sub.subscribe(topic, { qos: 1 });
    const left = ((await sub.next("publish")) as IPublishPacket).properties?.messageExpiryInterval;
    assert.ok(left !== undefined && left < 60 && left >= 58, `expiry interval left: ${left}`);
    await sub.disconnect();
  });

  test("3.1.1: a retained QoS 0 message goes to a new subscriber", async () => {
    const topic = uid("r/");
    await retain(topic, "q0", 0);
    const sub = await sluice.connect({ username: "Token", password: token });
    const got = nextMessages(sub);
    await sub.subscribeAsync(topic, { qos: 0 });
    const [m] = await got;
    assert.equal(m!.packet.retain, true);
    assert.equal(await noMessage(sub, 100), true);
  });
});
