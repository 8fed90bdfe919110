import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IDisconnectPacket, IPublishPacket } from "mqtt-packet";
import { connackOf, metricValue, noPacket, RawClient, sleep, uid } from "../helpers/raw_mqtt.js";
import { nextMessages, noMessage, startSluice, type TestSluice } from "../helpers/sluice.js";

// Sessions (3.1.1 §3.1.2.4, §4.1; 5.0 §3.1.2.4, §3.1.2.11, §4.1): what outlives a network
// connection, for how long, and what a resumed session receives.

let sluice: TestSluice;
let token: string;
before(async () => {
  sluice = await startSluice();
  token = (await sluice.device()).token;
});
after(() => sluice.close());

const v311 = { username: "Token", protocolVersion: 4 as const };
const v5 = { username: "Token", protocolVersion: 5 as const };

/** Connects with MQTT.js and returns the client with its CONNACK. */
async function connectWithAck(options: Parameters<TestSluice["connect"]>[0]) {
  const client = await sluice.connect(options);
  return { client, connack: connackOf(client) };
}

async function publishFromOther(topic: string, payload: string, qos: 0 | 1 | 2, protocolVersion: 4 | 5 = 4): Promise<void> {
  const pub = await sluice.connect({ username: "Token", password: token, protocolVersion });
  await pub.publishAsync(topic, payload, { qos });
  await pub.endAsync();
}

// The tests are independent (own topics, client ids, accounts): they run concurrently.
describe("sessions", { concurrency: true }, () => {
  test("3.1.1: the first clean=false connection gets sessionPresent false", async () => {
    const { client, connack } = await connectWithAck({ ...v311, password: token, clientId: uid("c"), clean: false });
    assert.equal(connack.sessionPresent, false);
    await client.endAsync();
  });

  test("3.1.1: a clean=false session keeps its subscriptions across connections, with sessionPresent true", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const first = await sluice.connect({ ...v311, password: token, clientId, clean: false });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    const { client, connack } = await connectWithAck({ ...v311, password: token, clientId, clean: false });
    assert.equal(connack.sessionPresent, true);
    const got = nextMessages(client);
    await publishFromOther(topic, "still subscribed", 1);
    assert.equal((await got)[0]!.payload, "still subscribed");
  });

  test("3.1.1: QoS 1 and 2 messages published while a clean=false client is offline are delivered on reconnect, QoS 0 ones are not", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const first = await sluice.connect({ ...v311, password: token, clientId, clean: false });
    await first.subscribeAsync(topic, { qos: 2 });
    await first.endAsync();
    await publishFromOther(topic, "q0", 0);
    await publishFromOther(topic, "q1", 1);
    await publishFromOther(topic, "q2", 2);
    const { client: raw } = await RawClient.connect(sluice.ports.mqtt, { password: token, clientId, clean: false });
    const ps = await raw.publishes(2);
    assert.deepEqual(ps.map((p) => [p.payload.toString(), p.qos]), [["q1", 1], ["q2", 2]]);
    assert.equal(await noPacket(raw, "publish", 150), true, "the QoS 0 message was not queued");
    await raw.disconnect();
  });

  test("3.1.1: connecting with clean=true discards the previous session", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const first = await sluice.connect({ ...v311, password: token, clientId, clean: false });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    await publishFromOther(topic, "queued before clean", 1);
    const clean = await connectWithAck({ ...v311, password: token, clientId, clean: true });
    assert.equal(clean.connack.sessionPresent, false);
    assert.equal(await noMessage(clean.client, 150), true, "the queued message went with the session");
    await clean.client.endAsync();
    const { client, connack } = await connectWithAck({ ...v311, password: token, clientId, clean: false });
    assert.equal(connack.sessionPresent, false, "a clean session is not kept after it disconnects");
    await publishFromOther(topic, "nobody subscribed", 1);
    assert.equal(await noMessage(client, 150), true, "the subscription went with the session");
  });

  test("5.0: a session with a Session Expiry Interval outlives its connection and queues QoS 1/2 messages", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const first = await sluice.connect({ ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    await publishFromOther(topic, "while offline", 1, 5);
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(connack.sessionPresent, true);
    assert.equal(((await client.next("publish")) as IPublishPacket).payload.toString(), "while offline");
    await client.disconnect();
  });

  test("5.0: without a Session Expiry Interval the session ends with the connection, even with clean start 0", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const first = await sluice.connect({ ...v5, password: token, clientId, clean: false });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    const { client, connack } = await connectWithAck({ ...v5, password: token, clientId, clean: false });
    assert.equal(connack.sessionPresent, false);
    await publishFromOther(topic, "x", 1, 5);
    assert.equal(await noMessage(client, 150), true);
  });

  test("5.0: a session ends once its expiry interval has passed after the disconnect", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const first = await sluice.connect({ ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 1 } });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    await sleep(2100);
    const { client, connack } = await connectWithAck({ ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 1 } });
    assert.equal(connack.sessionPresent, false);
    await publishFromOther(topic, "x", 1, 5);
    assert.equal(await noMessage(client, 150), true, "the expired session's subscription is gone");
  });

  test("5.0: the Session Expiry Interval of the latest CONNECT applies to the resumed session", async () => {
    const clientId = uid("c");
    const first = await sluice.connect({ ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.subscribeAsync(uid("s/"), { qos: 1 });
    await first.endAsync();
    const second = await connectWithAck({ ...v5, password: token, clientId, clean: false }); // no interval: 0
    assert.equal(second.connack.sessionPresent, true);
    await second.client.endAsync();
    const third = await connectWithAck({ ...v5, password: token, clientId, clean: false });
    assert.equal(third.connack.sessionPresent, false, "the session ended with the second connection");
  });

  test("5.0: clean start discards an existing session", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const first = await sluice.connect({ ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    await publishFromOther(topic, "queued", 1, 5);
    const { client, connack } = await connectWithAck({ ...v5, password: token, clientId, clean: true, properties: { sessionExpiryInterval: 60 } });
    assert.equal(connack.sessionPresent, false);
    assert.equal(await noMessage(client, 150), true, "neither the queued message nor the subscription survived");
    await publishFromOther(topic, "after", 1, 5);
    assert.equal(await noMessage(client, 150), true);
  });

  test("5.0: DISCONNECT with Session Expiry Interval 0 ends a session that would have outlived the connection", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const { client: first } = await RawClient.connect(sluice.ports.mqtt, { ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.subscribe(topic, { qos: 1 });
    first.send({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await first.closed;
    const { connack } = await connectWithAck({ ...v5, password: token, clientId, clean: false });
    assert.equal(connack.sessionPresent, false);
  });

  test("5.0: a CONNACK caps a Session Expiry Interval above mqtt.maxSessionExpiry and says so", async () => {
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, {
      ...v5, password: token, clientId: uid("c"), properties: { sessionExpiryInterval: 0xfffffffe },
    });
    assert.equal(connack.properties?.sessionExpiryInterval, sluice.server.config.mqtt.maxSessionExpiry);
    await client.disconnect();
  });

  for (const [v, options] of [["3.1.1", { protocolVersion: 4 as const, clean: false }], ["5.0", { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 60 } }]] as const) {
    test(`${v}: unacknowledged QoS 1 messages are redelivered on reconnect with DUP set and their packet id`, async () => {
      const clientId = uid("c");
      const topic = uid("s/");
      const { client: first } = await RawClient.connect(sluice.ports.mqtt, { ...options, password: token, clientId });
      await first.subscribe(topic, { qos: 1 });
      await publishFromOther(topic, "unacked", 1);
      const original = (await first.next("publish")) as IPublishPacket;
      assert.equal(original.dup, false);
      await first.destroy(); // never sent PUBACK
      const { client: second, connack } = await RawClient.connect(sluice.ports.mqtt, { ...options, password: token, clientId });
      assert.equal(connack.sessionPresent, true);
      const again = (await second.next("publish")) as IPublishPacket;
      assert.equal(again.payload.toString(), "unacked");
      assert.equal(again.dup, true);
      assert.equal(again.qos, 1);
      assert.equal(again.messageId, original.messageId);
      second.send({ cmd: "puback", messageId: again.messageId });
      await second.disconnect();
      const { client: third } = await RawClient.connect(sluice.ports.mqtt, { ...options, password: token, clientId });
      assert.equal(await noPacket(third, "publish", 150), true, "an acknowledged message is not redelivered");
      await third.disconnect();
    });

    test(`${v}: a QoS 2 delivery acknowledged with PUBREC resumes with PUBREL, not with the message`, async () => {
      const clientId = uid("c");
      const topic = uid("s/");
      const { client: first } = await RawClient.connect(sluice.ports.mqtt, { ...options, password: token, clientId });
      await first.subscribe(topic, { qos: 2 });
      await publishFromOther(topic, "q2", 2);
      const p = (await first.next("publish")) as IPublishPacket;
      first.send({ cmd: "pubrec", messageId: p.messageId });
      await first.next("pubrel");
      await first.destroy(); // never sent PUBCOMP
      const { client: second } = await RawClient.connect(sluice.ports.mqtt, { ...options, password: token, clientId });
      assert.equal((await second.next("pubrel")).messageId, p.messageId);
      assert.equal(await noPacket(second, "publish", 150), true, "the message itself is not sent again");
      second.send({ cmd: "pubcomp", messageId: p.messageId });
      await second.disconnect();
    });

    test(`${v}: a QoS 2 PUBLISH resent after reconnect, before PUBREL, is not delivered twice`, async () => {
      const clientId = uid("c");
      const topic = uid("s/");
      const sub = await sluice.connect({ username: "Token", password: token });
      await sub.subscribeAsync(topic, { qos: 2 });
      const got = nextMessages(sub);
      const publish: IPublishPacket = { cmd: "publish", topic, payload: Buffer.from("once"), qos: 2, messageId: 11, retain: false, dup: false };
      const { client: first } = await RawClient.connect(sluice.ports.mqtt, { ...options, password: token, clientId });
      first.send(publish);
      await first.next("pubrec");
      await first.destroy();
      const { client: second } = await RawClient.connect(sluice.ports.mqtt, { ...options, password: token, clientId });
      second.send({ ...publish, dup: true });
      await second.next("pubrec");
      second.send({ cmd: "pubrel", messageId: 11 });
      await second.next("pubcomp");
      assert.equal((await got)[0]!.payload, "once");
      assert.equal(await noMessage(sub, 150), true);
      await second.disconnect();
    });
  }

  test("5.0: a new connection with the same client id takes the session over: the old one gets DISCONNECT 0x8E and is closed", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const { client: old } = await RawClient.connect(sluice.ports.mqtt, { ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    await old.subscribe(topic, { qos: 1 });
    const { client: fresh, connack } = await RawClient.connect(sluice.ports.mqtt, { ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    const disconnect = (await old.next("disconnect")) as IDisconnectPacket;
    assert.equal(disconnect.reasonCode, 0x8e);
    await old.closed;
    assert.equal(connack.sessionPresent, true, "the session continues on the new connection");
    await publishFromOther(topic, "to the new one", 1);
    assert.equal(((await fresh.next("publish")) as IPublishPacket).payload.toString(), "to the new one");
    await fresh.disconnect();
  });

  test("3.1.1: a new connection with the same client id takes the session over and the old connection is closed", async () => {
    const clientId = uid("c");
    const { client: old } = await RawClient.connect(sluice.ports.mqtt, { ...v311, password: token, clientId, clean: false });
    const { client: fresh, connack } = await RawClient.connect(sluice.ports.mqtt, { ...v311, password: token, clientId, clean: false });
    assert.equal(connack.sessionPresent, true);
    await old.closed;
    assert.equal(old.received.filter((p) => p.cmd === "disconnect").length, 0, "3.1.1 has no server DISCONNECT");
    assert.equal(fresh.isClosed, false);
    await fresh.disconnect();
  });

  test("the same client id in two accounts names two different sessions", async () => {
    const otherToken = (await sluice.device({ accountId: await sluice.account() })).token;
    const clientId = uid("c");
    const { client: a } = await RawClient.connect(sluice.ports.mqtt, { ...v5, password: token, clientId });
    const { client: b, connack } = await RawClient.connect(sluice.ports.mqtt, { ...v5, password: otherToken, clientId });
    assert.equal(connack.reasonCode, 0);
    assert.equal(await noPacket(a, "disconnect", 150), true, "no takeover across accounts");
    assert.equal(a.isClosed, false);
    await a.disconnect();
    await b.disconnect();
  });

  test("the offline queue is bounded by mqtt.maxQueuedMessages and the overflow is counted as queue_full", async () => {
    const small = await startSluice({ mqtt: { maxQueuedMessages: 5 } });
    try {
      const t = (await small.device()).token;
      const clientId = uid("c");
      const topic = uid("s/");
      const first = await small.connect({ ...v5, password: t, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
      await first.subscribeAsync(topic, { qos: 1 });
      await first.endAsync();
      const before = await metricValue(small.ports.http, 'sluice_mqtt_messages_dropped_total{reason="queue_full"}');
      const pub = await small.connect({ ...v5, password: t });
      for (let i = 0; i < 8; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
      const { client } = await RawClient.connect(small.ports.mqtt, { ...v5, password: t, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
      const ps = await client.publishes(5);
      assert.deepEqual(ps.map((p) => p.payload.toString()), ["0", "1", "2", "3", "4"], "the oldest messages are kept, in order");
      for (const p of ps) client.send({ cmd: "puback", messageId: p.messageId });
      assert.equal(await noPacket(client, "publish", 150), true);
      const after = await metricValue(small.ports.http, 'sluice_mqtt_messages_dropped_total{reason="queue_full"}');
      assert.equal(after - before, 3);
      await client.disconnect();
    } finally {
      await small.close();
    }
  });

  test("5.0: raising the Session Expiry Interval from 0 in DISCONNECT is a protocol error", async () => {
    const { client } = await RawClient.connect(sluice.ports.mqtt, { ...v5, password: token, clientId: uid("c") });
    client.send({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    assert.equal(((await client.next("disconnect")) as IDisconnectPacket).reasonCode, 0x82);
    await client.closed;
  });

  test("5.0: on reconnect, unacknowledged messages are resent before the queued ones, all in publication order", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const options = { ...v5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 2 } };
    const { client: first } = await RawClient.connect(sluice.ports.mqtt, options);
    await first.subscribe(topic, { qos: 1 });
    const pub = await sluice.connect({ ...v5, password: token });
    for (let i = 0; i < 5; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
    await first.publishes(2); // 0 and 1 in flight, 2..4 queued
    await first.destroy();
    const { client: second } = await RawClient.connect(sluice.ports.mqtt, { ...options, properties: { sessionExpiryInterval: 60 } });
    const ps = await second.publishes(5);
    assert.deepEqual(ps.map((p) => [p.payload.toString(), p.dup]), [["0", true], ["1", true], ["2", false], ["3", false], ["4", false]]);
    await second.disconnect();
  });

  test("5.0: on reconnect, messages resent to the client respect its new Receive Maximum", async () => {
    const clientId = uid("c");
    const topic = uid("s/");
    const options = { ...v5, password: token, clientId, clean: false };
    const { client: first } = await RawClient.connect(sluice.ports.mqtt, { ...options, properties: { sessionExpiryInterval: 60, receiveMaximum: 10 } });
    await first.subscribe(topic, { qos: 1 });
    const pub = await sluice.connect({ ...v5, password: token });
    for (let i = 0; i < 3; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
    await first.publishes(3); // none acknowledged
    await first.destroy();
    const { client: second } = await RawClient.connect(sluice.ports.mqtt, { ...options, properties: { sessionExpiryInterval: 60, receiveMaximum: 1 } });
    const [p0] = await second.publishes(1);
    assert.equal(p0!.payload.toString(), "0");
    assert.equal(await noPacket(second, "publish", 200), true, "one unacknowledged PUBLISH at a time");
    second.send({ cmd: "puback", messageId: p0!.messageId });
    const [p1] = await second.publishes(1);
    assert.equal(p1!.payload.toString(), "1");
    second.send({ cmd: "puback", messageId: p1!.messageId });
    assert.equal((await second.publishes(1))[0]!.payload.toString(), "2");
    await second.disconnect();
  });
});
