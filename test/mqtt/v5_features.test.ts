import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IConnackPacket, IDisconnectPacket, IPublishPacket, IUnsubackPacket } from "mqtt-packet";
import { metricValue, noPacket, RawClient, sleep, uid } from "../helpers/raw_mqtt.js";
import { nextMessages, noMessage, startSluice, type TestSluice } from "../helpers/sluice.js";

// MQTT 5.0 features (and the 3.1.1 behaviour they refine): subscription options (§3.8.3.1),
// Subscription Identifiers (§3.3.2.3.8), overlapping subscriptions (§4.7.1.2 / 3.1.1 §3.3.5),
// shared subscriptions (§4.8.2), topic aliases (§3.3.2.3.4), message expiry (§3.3.2.3.3),
// forwarded properties (§3.3.2.3), assigned client identifiers and Server Keep Alive (§3.2.2.3),
// Maximum Packet Size (§3.1.2.11.4) and Receive Maximum (§3.1.2.11.3, §4.9).

let sluice: TestSluice;
let token: string;
before(async () => {
  sluice = await startSluice();
  token = (await sluice.device()).token;
});
after(() => sluice.close());

const v5 = { username: "Token", protocolVersion: 5 as const };
const connect5 = (options: Parameters<TestSluice["connect"]>[0] = {}) => sluice.connect({ ...v5, password: token, ...options });
const raw5 = async (options: Parameters<typeof RawClient.connect>[1] = {}) =>
  (await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, ...options })).client;

async function publish(topic: string, payload: string, qos: 0 | 1 | 2 = 1, properties?: IPublishPacket["properties"]): Promise<void> {
  const pub = await connect5();
  await pub.publishAsync(topic, payload, { qos, properties });
  await pub.endAsync();
}

// The tests are independent (own topics, client ids, accounts): they run concurrently.
describe("MQTT 5.0 features", { concurrency: true }, () => {
  // ---- No Local ----

  test("No Local: a client does not receive its own publications on a no-local subscription", async () => {
    const topic = uid("nl/");
    const client = await connect5();
    await client.subscribeAsync(topic, { qos: 1, nl: true });
    await client.publishAsync(topic, "mine", { qos: 1 });
    assert.equal(await noMessage(client, 200), true);
  });

  test("No Local: a no-local subscription still receives other clients' publications", async () => {
    const topic = uid("nl/");
    const client = await connect5();
    await client.subscribeAsync(topic, { qos: 1, nl: true });
    const got = nextMessages(client);
    await publish(topic, "theirs");
    assert.equal((await got)[0]!.payload, "theirs");
  });

  test("without No Local a client receives its own publications", async () => {
    const topic = uid("nl/");
    const client = await connect5();
    await client.subscribeAsync(topic, { qos: 1, nl: false });
    const got = nextMessages(client);
    await client.publishAsync(topic, "mine", { qos: 1 });
    assert.equal((await got)[0]!.payload, "mine");
  });

  test("No Local on a shared subscription is a protocol error (DISCONNECT 0x82)", async () => {
    const client = await raw5();
    client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: `$share/g/${uid("nl/")}`, qos: 1, nl: true }] });
    assert.equal(((await client.next("disconnect")) as IDisconnectPacket).reasonCode, 0x82);
    await client.closed;
  });

  test("a PUBLISH whose Response Topic holds a wildcard ends the connection with 0x82 and is not forwarded [MQTT-3.3.2-14]", async () => {
    const topic = uid("rt/");
    const sub = await connect5();
    await sub.subscribeAsync(topic, { qos: 1 });
    const client = await raw5();
    client.send({ cmd: "publish", topic, payload: Buffer.from("x"), qos: 1, messageId: 1, retain: false, dup: false, properties: { responseTopic: "replies/#" } });
    assert.equal(((await client.next("disconnect")) as IDisconnectPacket).reasonCode, 0x82);
    await client.closed;
    assert.equal(await noMessage(sub, 300), true, "the message was forwarded");
    await sub.endAsync();
  });

  // ---- Subscription Identifiers ----

  test("Subscription Identifier: a message carries the identifier of the subscription it matched", async () => {
    const topic = uid("sid/");
    const client = await connect5();
    await client.subscribeAsync(topic, { qos: 1, properties: { subscriptionIdentifier: 42 } });
    const got = nextMessages(client);
    await publish(topic, "x");
    assert.equal((await got)[0]!.packet.properties?.subscriptionIdentifier, 42);
  });

  test("Subscription Identifier: a message matching several subscriptions of one client arrives once with all their identifiers", async () => {
    const base = uid("sid/");
    const client = await raw5();
    await client.subscribe(`${base}/+`, { qos: 1 }, { subscriptionIdentifier: 1 });
    await client.subscribe(`${base}/#`, { qos: 1 }, { subscriptionIdentifier: 2 });
    await client.subscribe(`${base}/a`, { qos: 0 });
    await publish(`${base}/a`, "x");
    const p = (await client.next("publish")) as IPublishPacket;
    const ids = p.properties?.subscriptionIdentifier;
    assert.deepEqual([ids].flat().sort(), [1, 2]);
    assert.equal(await noPacket(client, "publish", 150), true, "one copy only");
    await client.disconnect();
  });

  test("Subscription Identifier: a subscription without one gives messages without one", async () => {
    const topic = uid("sid/");
    const client = await connect5();
    await client.subscribeAsync(topic, { qos: 1 });
    const got = nextMessages(client);
    await publish(topic, "x");
    assert.equal((await got)[0]!.packet.properties?.subscriptionIdentifier, undefined);
  });

  test("Subscription Identifier: subscribing again to a filter replaces its identifier", async () => {
    const topic = uid("sid/");
    const client = await connect5();
    await client.subscribeAsync(topic, { qos: 1, properties: { subscriptionIdentifier: 3 } });
    await client.subscribeAsync(topic, { qos: 1, properties: { subscriptionIdentifier: 4 } });
    const got = nextMessages(client);
    await publish(topic, "x");
    assert.equal((await got)[0]!.packet.properties?.subscriptionIdentifier, 4);
  });

  test("Subscription Identifier: retained messages sent on SUBSCRIBE carry the identifier", async () => {
    const topic = uid("sid/");
    const pub = await connect5();
    await pub.publishAsync(topic, "r", { qos: 1, retain: true });
    const client = await raw5();
    await client.subscribe(topic, { qos: 1 }, { subscriptionIdentifier: 9 });
    assert.equal(((await client.next("publish")) as IPublishPacket).properties?.subscriptionIdentifier, 9);
    await client.disconnect();
  });

  test("Subscription Identifier 0 is a protocol error", async () => {
    const client = await raw5();
    client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: uid("sid/"), qos: 1 }], properties: { subscriptionIdentifier: 0 } });
    await client.closed;
    const d = client.received.find((p) => p.cmd === "disconnect") as IDisconnectPacket | undefined;
    assert.ok(d === undefined || d.reasonCode === 0x82 || d.reasonCode === 0x81, `reason ${d?.reasonCode}`);
  });

  // ---- Overlapping subscriptions ----

  for (const protocolVersion of [4, 5] as const) {
    const v = protocolVersion === 5 ? "5.0" : "3.1.1";
    test(`${v}: overlapping subscriptions of one client deliver one copy at the highest granted QoS`, async () => {
      const base = uid("ov/");
      const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion });
      await client.subscribe(`${base}/#`, { qos: 0 });
      await client.subscribe(`${base}/+/c`, { qos: 2 });
      await client.subscribe(`${base}/b/c`, { qos: 1 });
      await publish(`${base}/b/c`, "x", 2);
      const p = (await client.next("publish")) as IPublishPacket;
      assert.equal(p.qos, 2);
      assert.equal(await noPacket(client, "publish", 150), true, "exactly one copy");
      await client.disconnect();
    });
  }

  // ---- Shared subscriptions ----

  test("shared subscription: each message goes to exactly one member of the group, round-robin", async () => {
    const topic = uid("sh/");
    const a = await raw5();
    const b = await raw5();
    await a.subscribe(`$share/g/${topic}`, { qos: 1 });
    await b.subscribe(`$share/g/${topic}`, { qos: 1 });
    const pub = await connect5();
    for (let i = 0; i < 6; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
    await sleep(100);
    const toA = a.received.filter((p) => p.cmd === "publish").map((p) => (p as IPublishPacket).payload.toString());
    const toB = b.received.filter((p) => p.cmd === "publish").map((p) => (p as IPublishPacket).payload.toString());
    assert.equal(toA.length, 3);
    assert.equal(toB.length, 3);
    assert.deepEqual([...toA, ...toB].sort(), ["0", "1", "2", "3", "4", "5"], "no message twice, none lost");
    const odd = (xs: string[]) => xs.every((x) => Number(x) % 2 === Number(xs[0]) % 2);
    assert.ok(odd(toA) && odd(toB), `alternating: ${toA} / ${toB}`);
    await a.disconnect();
    await b.disconnect();
  });

  test("shared subscription: two groups on one filter each get every message, and so does a plain subscriber", async () => {
    const topic = uid("sh/");
    const g1 = await connect5();
    const g2 = await connect5();
    const plain = await connect5();
    await g1.subscribeAsync(`$share/one/${topic}`, { qos: 1 });
    await g2.subscribeAsync(`$share/two/${topic}`, { qos: 1 });
    await plain.subscribeAsync(topic, { qos: 1 });
    const got = [nextMessages(g1), nextMessages(g2), nextMessages(plain)];
    await publish(topic, "all");
    for (const m of await Promise.all(got)) assert.equal(m[0]!.payload, "all");
  });

  test("shared subscription: a member that unsubscribes gets no more messages from the group", async () => {
    const topic = uid("sh/");
    const a = await connect5();
    const b = await connect5();
    await a.subscribeAsync(`$share/g/${topic}`, { qos: 1 });
    await b.subscribeAsync(`$share/g/${topic}`, { qos: 1 });
    await b.unsubscribeAsync(`$share/g/${topic}`);
    const got = nextMessages(a, 3);
    for (let i = 0; i < 3; i++) await publish(topic, String(i));
    assert.equal((await got).length, 3);
    assert.equal(await noMessage(b, 100), true);
  });

  test("shared subscription: an offline persistent member gets nothing while another member is connected, and queues once none is", async () => {
    const topic = uid("sh/");
    const clientId = uid("c");
    const persistent = { clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const offline = await raw5(persistent);
    await offline.subscribe(`$share/g/${topic}`, { qos: 1 });
    await offline.disconnect();
    const online = await connect5();
    await online.subscribeAsync(`$share/g/${topic}`, { qos: 1 });
    const got = nextMessages(online, 4);
    for (let i = 0; i < 4; i++) await publish(topic, `while-online-${i}`);
    assert.equal((await got).length, 4, "every message went to the connected member");
    await online.endAsync();
    await publish(topic, "while-none-online");
    const back = await raw5(persistent);
    const ps = await back.publishes(1);
    assert.equal(ps[0]!.payload.toString(), "while-none-online");
    assert.equal(await noPacket(back, "publish", 150), true);
    await back.disconnect();
  });

  test("shared subscription: a malformed $share filter is refused with 0x8F", async () => {
    const client = await raw5();
    const granted = await client.subscribe("$share/g+/t", { qos: 1 });
    assert.deepEqual(granted, [0x8f]);
    assert.deepEqual(await client.subscribe("$share/onlygroup", { qos: 1 }), [0x8f]);
    await client.disconnect();
  });

  // ---- Topic aliases ----

  test("topic alias client → broker: a PUBLISH with an alias and an empty topic goes to the aliased topic", async () => {
    const topic = uid("ta/");
    const sub = await connect5();
    await sub.subscribeAsync(topic, { qos: 1 });
    const pub = await connect5();
    const sent: IPublishPacket[] = [];
    pub.on("packetsend", (p) => p.cmd === "publish" && sent.push(p as IPublishPacket));
    const got = nextMessages(sub, 2);
    await pub.publishAsync(topic, "first", { qos: 1, properties: { topicAlias: 1 } });
    await pub.publishAsync("", "second", { qos: 1, properties: { topicAlias: 1 } });
    assert.equal(sent[1]!.topic, "", "the second PUBLISH really had no topic");
    const ms = await got;
    assert.deepEqual(ms.map((m) => [m.topic, m.payload]), [[topic, "first"], [topic, "second"]]);
    assert.equal(ms[0]!.packet.properties?.topicAlias, undefined, "aliases are per hop");
  });

  test("topic alias client → broker: an alias can be remapped to another topic", async () => {
    const [t1, t2] = [uid("ta/"), uid("ta/")];
    const sub = await connect5();
    await sub.subscribeAsync([t1, t2], { qos: 1 });
    const pub = await raw5();
    const got = nextMessages(sub, 3);
    pub.send({ cmd: "publish", topic: t1, payload: Buffer.from("a"), qos: 0, retain: false, dup: false, properties: { topicAlias: 2 } });
    pub.send({ cmd: "publish", topic: t2, payload: Buffer.from("b"), qos: 0, retain: false, dup: false, properties: { topicAlias: 2 } });
    pub.send({ cmd: "publish", topic: "", payload: Buffer.from("c"), qos: 0, retain: false, dup: false, properties: { topicAlias: 2 } });
    assert.deepEqual((await got).map((m) => [m.topic, m.payload]), [[t1, "a"], [t2, "b"], [t2, "c"]]);
    await pub.disconnect();
  });

  test("topic alias client → broker: an alias above the broker's Topic Alias Maximum is refused with DISCONNECT 0x94", async () => {
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5 });
    const max = connack.properties?.topicAliasMaximum ?? 0;
    assert.ok(max > 0, "the broker announces a Topic Alias Maximum");
    client.send({ cmd: "publish", topic: uid("ta/"), payload: Buffer.from("x"), qos: 0, retain: false, dup: false, properties: { topicAlias: max + 1 } });
    assert.equal(((await client.next("disconnect")) as IDisconnectPacket).reasonCode, 0x94);
    await client.closed;
  });

  test("topic alias client → broker: an alias never set, with an empty topic, is a protocol error", async () => {
    const client = await raw5();
    client.send({ cmd: "publish", topic: "", payload: Buffer.from("x"), qos: 0, retain: false, dup: false, properties: { topicAlias: 5 } });
    assert.equal(((await client.next("disconnect")) as IDisconnectPacket).reasonCode, 0x82);
    await client.closed;
  });

  test("topic alias broker → client: with a Topic Alias Maximum in CONNECT, the second message on a topic arrives by alias only", async () => {
    const topic = uid("ta/");
    const sub = await connect5({ properties: { topicAliasMaximum: 5 } });
    await sub.subscribeAsync(topic, { qos: 1 });
    const got = nextMessages(sub, 2);
    await publish(topic, "1");
    await publish(topic, "2");
    const [first, second] = await got;
    const alias = first!.packet.properties?.topicAlias;
    assert.ok(alias !== undefined && alias >= 1 && alias <= 5, `alias ${alias}`);
    assert.equal(first!.packet.topic, topic, "the first one sets the alias with the topic");
    assert.equal(second!.packet.properties?.topicAlias, alias);
    assert.equal(second!.packet.topic, "", "the second one is sent without the topic");
    assert.equal(second!.topic, topic, "MQTT.js resolves the alias back");
  });

  test("topic alias broker → client: no aliases beyond the client's Topic Alias Maximum", async () => {
    const base = uid("ta");
    const [t1, t2, t3] = [`${base}/1`, `${base}/2`, `${base}/3`];
    const client = await raw5({ properties: { topicAliasMaximum: 1 } });
    await client.subscribe(`${base}/#`, { qos: 0 });
    for (const t of [t1, t2, t3, t2]) await publish(t, "x", 0);
    const ps = await client.publishes(4);
    assert.equal(ps[0]!.properties?.topicAlias, 1);
    for (const p of ps.slice(1)) {
      assert.equal(p.properties?.topicAlias, undefined, "the only alias is taken");
      assert.notEqual(p.topic, "");
    }
    await client.disconnect();
  });

  test("topic alias broker → client: a client without Topic Alias Maximum gets no aliases", async () => {
    const topic = uid("ta/");
    const client = await raw5();
    await client.subscribe(topic, { qos: 1 });
    await publish(topic, "1");
    await publish(topic, "2");
    for (const p of await client.publishes(2)) {
      assert.equal(p.properties?.topicAlias, undefined);
      assert.equal(p.topic, topic);
    }
    await client.disconnect();
  });

  // ---- Message expiry ----

  test("message expiry: a message queued for an offline session is dropped once its Message Expiry Interval has passed", async () => {
    const topic = uid("exp/");
    const clientId = uid("c");
    const options = { clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await raw5(options);
    await first.subscribe(topic, { qos: 1 });
    await first.disconnect();
    const before = await metricValue(sluice.ports.http, 'sluice_mqtt_messages_dropped_total{reason="expired"}');
    await publish(topic, "stale", 1, { messageExpiryInterval: 1 });
    await publish(topic, "fresh", 1);
    await sleep(2000);
    const again = await raw5(options);
    const ps = await again.publishes(1);
    assert.equal(ps[0]!.payload.toString(), "fresh");
    assert.equal(await noPacket(again, "publish", 150), true, "the expired message is not delivered");
    assert.equal(await metricValue(sluice.ports.http, 'sluice_mqtt_messages_dropped_total{reason="expired"}') - before, 1);
    await again.disconnect();
  });

  test("message expiry: a queued message arrives with its Message Expiry Interval decreased by the time it waited", async () => {
    const topic = uid("exp/");
    const clientId = uid("c");
    const options = { clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await raw5(options);
    await first.subscribe(topic, { qos: 1 });
    await first.disconnect();
    await publish(topic, "x", 1, { messageExpiryInterval: 10 });
    await sleep(1100);
    const again = await raw5(options);
    const interval = ((await again.next("publish")) as IPublishPacket).properties?.messageExpiryInterval;
    assert.ok(interval !== undefined && interval <= 9 && interval >= 8, `interval ${interval}`);
    await again.disconnect();
  });

  test("message expiry: a message delivered at once keeps its Message Expiry Interval", async () => {
    const topic = uid("exp/");
    const sub = await connect5();
    await sub.subscribeAsync(topic, { qos: 1 });
    const got = nextMessages(sub);
    await publish(topic, "x", 1, { messageExpiryInterval: 30 });
    assert.equal((await got)[0]!.packet.properties?.messageExpiryInterval, 30);
  });

  // ---- Forwarded properties ----

  test("user properties, content type, payload format indicator, response topic and correlation data are forwarded untouched", async () => {
    const topic = uid("props/");
    const sub = await connect5();
    await sub.subscribeAsync(topic, { qos: 1 });
    const got = nextMessages(sub);
    const properties = {
      payloadFormatIndicator: true,
      contentType: "application/json; charset=utf-8",
      responseTopic: "replies/for/me",
      correlationData: Buffer.from([0, 1, 2, 0xff]),
      userProperties: { a: "1", b: ["x", "y"] },
    };
    await publish(topic, '{"t":1}', 1, properties);
    const p = (await got)[0]!.packet.properties!;
    assert.equal(p.payloadFormatIndicator, true);
    assert.equal(p.contentType, properties.contentType);
    assert.equal(p.responseTopic, properties.responseTopic);
    assert.deepEqual(p.correlationData, properties.correlationData);
    assert.deepEqual({ ...p.userProperties }, properties.userProperties);
  });

  test("5.0 properties are forwarded to QoS 0 subscribers too", async () => {
    const topic = uid("props/");
    const sub = await connect5();
    await sub.subscribeAsync(topic, { qos: 0 });
    const got = nextMessages(sub);
    await publish(topic, "x", 0, { contentType: "text/plain", userProperties: { k: "v" } });
    const p = (await got)[0]!.packet.properties!;
    assert.equal(p.contentType, "text/plain");
    assert.deepEqual({ ...p.userProperties }, { k: "v" });
  });

  test("a 3.1.1 subscriber gets the message of a 5.0 publisher without its properties", async () => {
    const topic = uid("props/");
    const sub = await sluice.connect({ username: "Token", password: token, protocolVersion: 4 });
    await sub.subscribeAsync(topic, { qos: 1 });
    const got = nextMessages(sub);
    await publish(topic, "plain", 1, { contentType: "text/plain", userProperties: { k: "v" } });
    const [m] = await got;
    assert.equal(m!.payload, "plain");
    assert.equal(m!.packet.properties, undefined);
  });

  // ---- CONNECT / CONNACK ----

  test("an empty client id gets an assigned client identifier in CONNACK", async () => {
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, clientId: "" });
    const assigned = connack.properties?.assignedClientIdentifier;
    assert.equal(typeof assigned, "string");
    assert.ok(assigned!.length > 0);
    const { client: other, connack: otherAck } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, clientId: "" });
    assert.notEqual(otherAck.properties?.assignedClientIdentifier, assigned, "each gets its own");
    await client.disconnect();
    await other.disconnect();
  });

  test("a client with its own client id gets no assigned client identifier", async () => {
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, clientId: uid("c") });
    assert.equal(connack.properties?.assignedClientIdentifier, undefined);
    await client.disconnect();
  });

  test("3.1.1: an empty client id with clean session 0 is refused with return code 2", async () => {
    // mqtt-packet refuses to encode this CONNECT, so it is written by hand.
    const client = await RawClient.open(sluice.ports.mqtt, 4);
    const str = (s: string) => Buffer.concat([Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)]);
    const body = Buffer.concat([str("MQTT"), Buffer.from([4, 0xc0, 0, 0]), str(""), str("Token"), str(token)]);
    client.socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    const connack = (await client.next("connack")) as IConnackPacket;
    assert.equal(connack.returnCode, 2);
    await client.closed;
  });

  test("3.1.1: an empty client id with clean session 1 is accepted", async () => {
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 4, clientId: "", clean: true });
    assert.equal(connack.returnCode, 0);
    await client.disconnect();
  });

  test("Server Keep Alive: a keep alive above mqtt.maxKeepAlive is lowered and CONNACK says so", async () => {
    const max = sluice.server.config.mqtt.maxKeepAlive;
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, keepalive: max + 100 });
    assert.equal(connack.properties?.serverKeepAlive, max);
    await client.disconnect();
  });

  test("Server Keep Alive: a keep alive within mqtt.maxKeepAlive is kept and CONNACK has no Server Keep Alive", async () => {
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, keepalive: 30 });
    assert.equal(connack.properties?.serverKeepAlive, undefined);
    await client.disconnect();
  });

  test("Server Keep Alive: the lowered keep alive is enforced", async () => {
    const s = await startSluice({ mqtt: { maxKeepAlive: 1 } });
    try {
      const t = (await s.device()).token;
      const { client, connack } = await RawClient.connect(s.ports.mqtt, { password: t, protocolVersion: 5, keepalive: 60 });
      assert.equal(connack.properties?.serverKeepAlive, 1);
      const started = Date.now();
      assert.equal(((await client.next("disconnect", undefined, 4000)) as IDisconnectPacket).reasonCode, 0x8d);
      assert.ok(Date.now() - started >= 1400);
      await client.closed;
    } finally {
      await s.close();
    }
  });

  test("CONNACK announces the broker's limits and capabilities", async () => {
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5 });
    const p = connack.properties!;
    const limits = sluice.server.config.mqtt;
    assert.equal(p.receiveMaximum, limits.receiveMaximum);
    assert.equal(p.maximumPacketSize, limits.maxPacketSize);
    assert.equal(p.topicAliasMaximum, limits.topicAliasMaximum);
    assert.notEqual(p.retainAvailable, false);
    assert.notEqual(p.wildcardSubscriptionAvailable, false);
    assert.notEqual(p.subscriptionIdentifiersAvailable, false);
    assert.notEqual(p.sharedSubscriptionAvailable, false);
    await client.disconnect();
  });

  // ---- Maximum Packet Size ----

  // These two count the same drop reason, so they run one after the other.
  describe("Maximum Packet Size", { concurrency: 1 }, () => {
    test("Maximum Packet Size: a message larger than the client's maximum is not sent to it, a smaller one is", async () => {
      const topic = uid("mps/");
      const client = await raw5({ properties: { maximumPacketSize: 200 } });
      await client.subscribe(topic, { qos: 1 });
      const before = await metricValue(sluice.ports.http, 'sluice_mqtt_messages_dropped_total{reason="client_packet_too_large"}');
      await publish(topic, "x".repeat(500));
      await publish(topic, "small");
      const ps = await client.publishes(1);
      assert.equal(ps[0]!.payload.toString(), "small");
      assert.equal(await noPacket(client, "publish", 150), true);
      const after = await metricValue(sluice.ports.http, 'sluice_mqtt_messages_dropped_total{reason="client_packet_too_large"}');
      assert.equal(after - before, 1);
      await client.disconnect();
    });

    test("Maximum Packet Size: a QoS 0 message larger than the client's maximum is not sent to it either", async () => {
      const topic = uid("mps/");
      const client = await raw5({ properties: { maximumPacketSize: 200 } });
      await client.subscribe(topic, { qos: 0 });
      await publish(topic, "y".repeat(500), 0);
      await publish(topic, "small", 0);
      assert.equal(((await client.next("publish")) as IPublishPacket).payload.toString(), "small");
      await client.disconnect();
    });
  });

  // ---- Receive Maximum ----

  test("Receive Maximum: with receiveMaximum 2 and no acknowledgements, only 2 QoS 1 messages are in flight", async () => {
    const topic = uid("rm/");
    const client = await raw5({ properties: { receiveMaximum: 2 } });
    await client.subscribe(topic, { qos: 1 });
    const pub = await connect5();
    for (let i = 0; i < 5; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
    const first = await client.publishes(2);
    assert.deepEqual(first.map((p) => p.payload.toString()), ["0", "1"]);
    assert.equal(await noPacket(client, "publish", 200), true, "the third waits for an acknowledgement");
    client.send({ cmd: "puback", messageId: first[0]!.messageId });
    const [third] = await client.publishes(1);
    assert.equal(third!.payload.toString(), "2");
    assert.equal(await noPacket(client, "publish", 150), true, "still at most 2 in flight");
    client.send({ cmd: "puback", messageId: first[1]!.messageId });
    client.send({ cmd: "puback", messageId: third!.messageId });
    assert.deepEqual((await client.publishes(2)).map((p) => p.payload.toString()), ["3", "4"]);
    await client.disconnect();
  });

  test("Receive Maximum: a QoS 2 message counts against it until PUBCOMP", async () => {
    const topic = uid("rm/");
    const client = await raw5({ properties: { receiveMaximum: 1 } });
    await client.subscribe(topic, { qos: 2 });
    const pub = await connect5();
    await pub.publishAsync(topic, "a", { qos: 2 });
    await pub.publishAsync(topic, "b", { qos: 2 });
    const [a] = await client.publishes(1);
    client.send({ cmd: "pubrec", messageId: a!.messageId });
    await client.next("pubrel");
    assert.equal(await noPacket(client, "publish", 200), true, "PUBREC does not free the slot");
    client.send({ cmd: "pubcomp", messageId: a!.messageId });
    assert.equal((await client.publishes(1))[0]!.payload.toString(), "b");
    await client.disconnect();
  });

  test("Receive Maximum 0 in CONNECT is a protocol error", async () => {
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, properties: { receiveMaximum: 0 } });
    assert.equal(connack.reasonCode, 0x82);
    await client.closed;
  });

  test("Maximum Packet Size 0 in CONNECT is a protocol error", async () => {
    const { client, connack } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, properties: { maximumPacketSize: 0 } });
    assert.equal(connack.reasonCode, 0x82);
    await client.closed;
  });

  test("Receive Maximum does not hold back QoS 0 messages", async () => {
    const topic = uid("rm/");
    const client = await raw5({ properties: { receiveMaximum: 1 } });
    await client.subscribe(topic, { qos: 1 });
    await publish(topic, "q1", 1);
    await publish(topic, "q0", 0);
    const ps = await client.publishes(2);
    assert.deepEqual(ps.map((p) => p.payload.toString()), ["q1", "q0"]);
    await client.disconnect();
  });

  // ---- UNSUBACK ----

  test("UNSUBACK says per filter whether a subscription existed (0x00 / 0x11)", async () => {
    const topic = uid("un/");
    const client = await raw5();
    await client.subscribe(topic, { qos: 1 });
    client.send({ cmd: "unsubscribe", messageId: 5, unsubscriptions: [topic, uid("un/")] });
    const ack = (await client.next("unsuback")) as IUnsubackPacket;
    assert.deepEqual(ack.granted, [0x00, 0x11]);
    await client.disconnect();
  });
});
