import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { IPublishPacket, Packet } from "mqtt-packet";
import { noPacket, RawClient, uid } from "../helpers/raw_mqtt.js";
import { nextMessages, noMessage, startSluice, type TestSluice } from "../helpers/sluice.js";

// Quality of service (3.1.1 §4.3, 5.0 §4.3): at most once, at least once, exactly once, and
// the downgrade of a delivery to the QoS its subscription was granted (§3.8.4).

let sluice: TestSluice;
let token: string;
before(async () => {
  sluice = await startSluice();
  token = (await sluice.device()).token;
});
after(() => sluice.close());

for (const protocolVersion of [4, 5] as const) {
  const v = protocolVersion === 5 ? "5.0" : "3.1.1";
  const connect = () => sluice.connect({ username: "Token", password: token, protocolVersion });

  for (const qos of [0, 1, 2] as const) {
    test(`${v}: a QoS ${qos} message is delivered end to end at QoS ${qos}`, async () => {
      const topic = uid("qos/");
      const sub = await connect();
      await sub.subscribeAsync(topic, { qos: 2 });
      const pub = await connect();
      const got = nextMessages(sub);
      await pub.publishAsync(topic, `q${qos}`, { qos });
      const [m] = await got;
      assert.equal(m!.payload, `q${qos}`);
      assert.equal(m!.packet.qos, qos);
      assert.equal(await noMessage(sub, 150), true, "delivered exactly once");
    });
  }

  test(`${v}: SUBACK grants the QoS asked for`, async () => {
    const sub = await connect();
    const [a, b, c] = [uid("g/"), uid("g/"), uid("g/")];
    const granted = await sub.subscribeAsync({ [a]: { qos: 0 }, [b]: { qos: 1 }, [c]: { qos: 2 } });
    assert.deepEqual(granted.map((g) => [g.topic, g.qos]), [[a, 0], [b, 1], [c, 2]]);
  });

  for (const [published, granted, expected] of [[2, 1, 1], [2, 0, 0], [1, 0, 0], [0, 2, 0], [1, 2, 1]] as const) {
    test(`${v}: a QoS ${published} message to a QoS ${granted} subscription is delivered at QoS ${expected}`, async () => {
      const topic = uid("down/");
      const sub = await connect();
      await sub.subscribeAsync(topic, { qos: granted });
      const pub = await connect();
      const got = nextMessages(sub);
      await pub.publishAsync(topic, "x", { qos: published });
      const [m] = await got;
      assert.equal(m!.packet.qos, expected);
    });
  }

  test(`${v}: a QoS 1 PUBLISH is answered with a PUBACK carrying its packet id`, async () => {
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion });
    client.send({ cmd: "publish", topic: uid("ack/"), payload: Buffer.from("x"), qos: 1, messageId: 42, retain: false, dup: false });
    const ack = await client.next("puback");
    assert.equal(ack.messageId, 42);
    await client.disconnect();
  });

  test(`${v}: a QoS 2 PUBLISH is answered PUBREC, and its PUBREL with PUBCOMP`, async () => {
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion });
    client.send({ cmd: "publish", topic: uid("ack/"), payload: Buffer.from("x"), qos: 2, messageId: 43, retain: false, dup: false });
    assert.equal((await client.next("pubrec")).messageId, 43);
    client.send({ cmd: "pubrel", messageId: 43 });
    const comp = await client.next("pubcomp");
    assert.equal(comp.messageId, 43);
    assert.equal((comp as { reasonCode?: number }).reasonCode ?? 0, 0);
    await client.disconnect();
  });

  test(`${v}: exactly once — a QoS 2 PUBLISH retransmitted with DUP before PUBREL is delivered once`, async () => {
    const topic = uid("eo/");
    const sub = await connect();
    await sub.subscribeAsync(topic, { qos: 2 });
    const { client: pub } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion });
    const publish: IPublishPacket = { cmd: "publish", topic, payload: Buffer.from("once"), qos: 2, messageId: 7, retain: false, dup: false };
    const got = nextMessages(sub);
    pub.send(publish);
    assert.equal((await pub.next("pubrec")).messageId, 7);
    pub.send({ ...publish, dup: true });
    pub.send({ ...publish, dup: true });
    assert.equal((await pub.next("pubrec")).messageId, 7, "each retransmission is acknowledged again");
    assert.equal((await pub.next("pubrec")).messageId, 7);
    pub.send({ cmd: "pubrel", messageId: 7 });
    await pub.next("pubcomp");
    const [m] = await got;
    assert.equal(m!.payload, "once");
    assert.equal(await noMessage(sub, 200), true, "the retransmissions were not delivered again");
    await pub.disconnect();
  });

  test(`${v}: after PUBREL the same packet id carries a new QoS 2 message`, async () => {
    const topic = uid("eo/");
    const sub = await connect();
    await sub.subscribeAsync(topic, { qos: 2 });
    const { client: pub } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion });
    const got = nextMessages(sub, 2);
    for (const payload of ["first", "second"]) {
      pub.send({ cmd: "publish", topic, payload: Buffer.from(payload), qos: 2, messageId: 9, retain: false, dup: false });
      await pub.next("pubrec");
      pub.send({ cmd: "pubrel", messageId: 9 });
      await pub.next("pubcomp");
    }
    assert.deepEqual((await got).map((m) => m.payload), ["first", "second"]);
    await pub.disconnect();
  });

  test(`${v}: a QoS 2 delivery to a subscriber goes PUBLISH, PUBREC, PUBREL, PUBCOMP`, async () => {
    const topic = uid("out2/");
    const { client: sub } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion });
    await sub.subscribe(topic, { qos: 2 });
    const pub = await connect();
    await pub.publishAsync(topic, "x", { qos: 2 });
    const p = (await sub.next("publish")) as IPublishPacket;
    assert.equal(p.qos, 2);
    assert.ok(p.messageId! > 0);
    sub.send({ cmd: "pubrec", messageId: p.messageId });
    assert.equal((await sub.next("pubrel")).messageId, p.messageId);
    sub.send({ cmd: "pubcomp", messageId: p.messageId });
    assert.equal(await noPacket(sub, "publish", 150), true, "no retransmission after PUBREC");
    await sub.disconnect();
  });

  test(`${v}: QoS 1 messages from one publisher arrive in the order they were published`, async () => {
    const topic = uid("order/");
    const sub = await connect();
    await sub.subscribeAsync(topic, { qos: 1 });
    const pub = await connect();
    const got = nextMessages(sub, 50);
    for (let i = 0; i < 50; i++) pub.publish(topic, String(i), { qos: 1 });
    assert.deepEqual((await got).map((m) => m.payload), Array.from({ length: 50 }, (_, i) => String(i)));
  });

  test(`${v}: subscribing again to a filter replaces its granted QoS`, async () => {
    const topic = uid("re/");
    const sub = await connect();
    await sub.subscribeAsync(topic, { qos: 0 });
    await sub.subscribeAsync(topic, { qos: 2 });
    const pub = await connect();
    const got = nextMessages(sub);
    await pub.publishAsync(topic, "x", { qos: 2 });
    assert.equal((await got)[0]!.packet.qos, 2);
    assert.equal(await noMessage(sub, 150), true, "one subscription, one copy");
  });

  test(`${v}: the DUP flag of an incoming PUBLISH is not passed on to subscribers`, async () => {
    const topic = uid("dup/");
    const { client: sub } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion });
    await sub.subscribe(topic, { qos: 1 });
    const { client: pub } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion });
    pub.send({ cmd: "publish", topic, payload: Buffer.from("x"), qos: 1, messageId: 3, retain: false, dup: true });
    await pub.next("puback");
    assert.equal(((await sub.next("publish")) as IPublishPacket).dup, false);
    await pub.disconnect();
    await sub.disconnect();
  });

  test(`${v}: QoS 1 deliveries to one subscriber use distinct packet ids while unacknowledged`, async () => {
    const topic = uid("ids/");
    const { client: sub } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion });
    await sub.subscribe(topic, { qos: 1 });
    const pub = await connect();
    for (let i = 0; i < 5; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
    const ps = await sub.publishes(5);
    assert.equal(new Set(ps.map((p: Packet) => p.messageId)).size, 5);
    await sub.disconnect();
  });
}

test("5.0: a PUBREL for a packet id the broker does not know is answered PUBCOMP 0x92", async () => {
  const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5 });
  client.send({ cmd: "pubrel", messageId: 777 });
  assert.equal(((await client.next("pubcomp")) as { reasonCode?: number }).reasonCode, 0x92);
  await client.disconnect();
});

test("5.0: a PUBREC with an error reason code ends the QoS 2 delivery: no PUBREL, and the in-flight slot is freed", async () => {
  const topic = uid("rec/");
  const { client: sub } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, properties: { receiveMaximum: 1 } });
  await sub.subscribe(topic, { qos: 2 });
  const pub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
  await pub.publishAsync(topic, "refused", { qos: 2 });
  await pub.publishAsync(topic, "next", { qos: 2 });
  const [p] = await sub.publishes(1);
  sub.send({ cmd: "pubrec", messageId: p!.messageId, reasonCode: 0x80 });
  const [next] = await sub.publishes(1);
  assert.equal(next!.payload.toString(), "next");
  assert.equal(await noPacket(sub, "pubrel", 150), true);
  await sub.disconnect();
});
