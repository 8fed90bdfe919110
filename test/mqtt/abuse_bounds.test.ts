import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { type MqttLimits } from "../../src/config/schema.js";
import { Broker } from "../../src/mqtt/broker.js";
import { WireClient } from "../helpers/wire.js";
import { brokerOnLoopback } from "../helpers/bare_broker.js";
import { liveBytes } from "../helpers/memory.js";

// Byte bounds of issue 10 that were counted in entries (or not at all): each one is reached
// over real sockets, shown to hold, and an unrelated client is served past it.

const MiB = 1024 * 1024;

/** A broker on an ephemeral loopback port; the password names the namespace (the account). */
function brokerWith(limits: Partial<MqttLimits>): { broker: () => Broker; port: () => number } {
  return brokerOnLoopback({ limits, hooks: { authenticate: async (req) => ({ ok: true, namespace: req.password?.toString() ?? "anonymous", principal: {} }) } });
}

describe("retained bytes per account (maxRetainedBytesPerAccount)", () => {
  const LIMIT = 2 * MiB;
  const bare = brokerWith({ maxRetainedBytesPerAccount: LIMIT, maxPacketSize: 256 * 1024 });

  test("100 KiB retained messages stop being kept at the account's bytes; a replacement past it clears the old value; another account is served", async () => {
    const hog = await WireClient.connected(bare.port(), "hog");
    const before = liveBytes();
    const payload = Buffer.alloc(100 * 1024, 7);
    for (let i = 0; i < 60; i++) {
      hog.send({ cmd: "publish", topic: `big/${i}`, payload, qos: 1, messageId: i + 1, retain: true, dup: false });
      await hog.next("puback");
    }
    const retained = bare.broker().namespace("hog").retained;
    assert.ok(retained.bytes <= LIMIT, `retained ${retained.bytes} bytes`);
    assert.ok(retained.size >= 15 && retained.size < 21, `kept ${retained.size} of 60`);
    const grown = liveBytes() - before;
    // 60 × 100 KiB = 6 MiB published; only what the bound allows stays.
    assert.ok(grown < LIMIT + 1 * MiB, `grew by ${(grown / MiB).toFixed(1)} MiB`);

    // A retained subscriber gets what was kept, no more (QoS 1: QoS 0 past the socket buffer would be dropped).
    const reader = await WireClient.connected(bare.port(), "hog");
    reader.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "big/#", qos: 1 }] });
    await reader.next("suback");
    for (let i = 0; i < retained.size; i++) await reader.next("publish");
    assert.equal(reader.packets.filter((p) => p.cmd === "publish").length, 0);
    reader.destroy();

    // Replacing a kept topic's value with one that does not fit: the old value goes too.
    const kept = retained.size;
    hog.send({ cmd: "publish", topic: "big/0", payload: Buffer.alloc(200 * 1024, 1), qos: 1, messageId: 100, retain: true, dup: false });
    await hog.next("puback");
    assert.equal(bare.broker().retainedFor("hog", "big/0").length, 0);
    assert.equal(retained.size, kept - 1);
    // ... and a small one fits again.
    hog.send({ cmd: "publish", topic: "small", payload: Buffer.from("v"), qos: 1, messageId: 101, retain: true, dup: false });
    await hog.next("puback");
    assert.equal(bare.broker().retainedFor("hog", "small").length, 1);
    hog.destroy();

    // Another account keeps and gets its retained messages as usual.
    const other = await WireClient.connected(bare.port(), "other");
    other.send({ cmd: "publish", topic: "state", payload: Buffer.alloc(100 * 1024, 2), qos: 1, messageId: 1, retain: true, dup: false });
    await other.next("puback");
    other.send({ cmd: "subscribe", messageId: 2, subscriptions: [{ topic: "state", qos: 1 }] });
    await other.next("suback");
    const got = await other.next("publish");
    assert.equal(got.payload.length, 100 * 1024);
    assert.equal(got.retain, true);
    other.destroy();
  });

  test("deleting retained messages gives their bytes back", async () => {
    const hog = await WireClient.connected(bare.port(), "hog");
    const retained = bare.broker().namespace("hog").retained;
    for (const topic of [...retained.entries()].map((m) => m.topic)) {
      hog.send({ cmd: "publish", topic, payload: Buffer.alloc(0), qos: 1, messageId: 1, retain: true, dup: false });
      await hog.next("puback");
    }
    assert.equal(retained.size, 0);
    assert.equal(retained.bytes, 0);
    hog.destroy();
  });
});

describe("topic alias bytes (maxTopicAliasBytes)", () => {
  const LIMIT = 64 * 1024;
  const bare = brokerWith({ maxTopicAliasBytes: LIMIT, maxPacketSize: 256 * 1024 });
  const long = (i: number) => `a${i}/${"x".repeat(20 * 1024)}`;

  test("a client setting aliases on long topics is disconnected with 0x97 past the bytes; a short alias still works for another client", async () => {
    const hog = await WireClient.connected(bare.port(), "ns");
    hog.send({ cmd: "publish", topic: long(1), payload: Buffer.from("1"), qos: 1, messageId: 1, retain: false, dup: false, properties: { topicAlias: 1 } });
    assert.equal((await hog.next("puback")).reasonCode ?? 0, 0);
    hog.send({ cmd: "publish", topic: long(2), payload: Buffer.from("2"), qos: 1, messageId: 2, retain: false, dup: false, properties: { topicAlias: 2 } });
    const disconnect = await hog.next("disconnect");
    assert.equal(disconnect.reasonCode, 0x97);
    await hog.waitClosed();

    const good = await WireClient.connected(bare.port(), "ns");
    good.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "s/1", qos: 1 }] });
    await good.next("suback");
    good.send({ cmd: "publish", topic: "s/1", payload: Buffer.from("a"), qos: 1, messageId: 2, retain: false, dup: false, properties: { topicAlias: 1 } });
    good.send({ cmd: "publish", topic: "", payload: Buffer.from("b"), qos: 1, messageId: 3, retain: false, dup: false, properties: { topicAlias: 1 } });
    assert.equal((await good.next("publish")).payload.toString(), "a");
    assert.equal((await good.next("publish")).payload.toString(), "b");
    good.destroy();
  });

  test("a subscriber asking for 65 535 aliases: the broker stops giving aliases at the bytes and sends full topics", async () => {
    const sub = await WireClient.connected(bare.port(), "ns2", { properties: { topicAliasMaximum: 65535 } });
    sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "#", qos: 0 }] });
    await sub.next("suback");
    const pub = await WireClient.connected(bare.port(), "ns2");
    for (let i = 0; i < 10; i++) {
      pub.send({ cmd: "publish", topic: long(i), payload: Buffer.from(String(i)), qos: 1, messageId: i + 1, retain: false, dup: false });
      await pub.next("puback");
    }
    const got = [];
    for (let i = 0; i < 10; i++) got.push(await sub.next("publish"));
    assert.deepEqual(got.map((p) => p.payload.toString()), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    const aliased = got.filter((p) => p.properties?.topicAlias !== undefined).length;
    assert.equal(aliased, Math.floor(LIMIT / (long(0).length * 2)));
    assert.ok(got.every((p) => p.topic.startsWith("a")), "every topic went out in full (new aliases carry it too)");
    for (const conn of bare.broker().connections) assert.ok(conn.outgoingAliasBytes <= LIMIT);
    sub.destroy();
    pub.destroy();
  });
});
