import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeEnvelope, encodeEnvelope, ENVELOPE_VERSION } from "../../src/cluster/envelope.js";
import type { Message } from "../../src/mqtt/types.js";
import { generateTopic, random } from "../helpers/topic_gen.js";

// The message envelope on the bus (src/cluster/envelope.ts): what must survive the trip, and
// hostile bytes refused without a throw.

const full: Message = {
  topic: "a/ b/é/$x",
  payload: Buffer.from([0, 1, 2, 255]),
  qos: 2,
  retain: true,
  properties: {
    payloadFormatIndicator: true,
    contentType: "application/json",
    responseTopic: "reply/to",
    correlationData: Buffer.from("corr"),
    userProperties: { a: "1", b: ["2", "3"], __proto__: "x" } as Record<string, string | string[]>,
  },
  expiresAt: 1_000_000 + 30_000,
  publisher: "ns\u0000client-1",
};

describe("envelope", () => {
  test("topic, payload, QoS, retain, properties, publisher and the expiry left survive", () => {
    const data = encodeEnvelope("node-a/1234", 77, "ns", full, 1_000_000);
    const r = decodeEnvelope(data, 2_000_000);
    assert.ok(r.ok);
    const { origin, seq, namespace, message } = r.envelope;
    assert.equal(origin, "node-a/1234");
    assert.equal(seq, 77);
    assert.equal(namespace, "ns");
    assert.equal(message.topic, full.topic);
    assert.deepEqual(message.payload, full.payload);
    assert.equal(message.qos, 2);
    assert.equal(message.retain, true);
    assert.equal(message.publisher, full.publisher);
    // 30 s were left when it was sent: 30 s are left from when it arrived.
    assert.equal(message.expiresAt, 2_000_000 + 30_000);
    assert.equal(message.properties?.contentType, "application/json");
    assert.equal(message.properties?.responseTopic, "reply/to");
    assert.equal(message.properties?.payloadFormatIndicator, true);
    assert.deepEqual(Buffer.from(message.properties!.correlationData!), Buffer.from("corr"));
    assert.deepEqual({ ...message.properties?.userProperties }, { a: "1", b: ["2", "3"] });
  });

  test("a message without properties, expiry or publisher stays without them", () => {
    const m: Message = { topic: "t", payload: Buffer.alloc(0), qos: 0, retain: false, properties: undefined, expiresAt: undefined, publisher: undefined };
    const r = decodeEnvelope(encodeEnvelope("o", 1, "ns", m));
    assert.ok(r.ok);
    assert.equal(r.envelope.message.properties, undefined);
    assert.equal(r.envelope.message.expiresAt, undefined);
    assert.equal(r.envelope.message.publisher, undefined);
    assert.equal(r.envelope.message.payload.length, 0);
  });

  test("another version is told apart from garbage", () => {
    const data = encodeEnvelope("o", 1, "ns", full);
    data[2] = ENVELOPE_VERSION + 1;
    assert.deepEqual(decodeEnvelope(data), { ok: false, reason: "version" });
  });

  test("hostile input: every truncation, padding, random bytes and bit flips are refused or decoded, never thrown", () => {
    const data = encodeEnvelope("o", 1, "ns", full);
    for (let n = 0; n < data.length; n++) assert.equal(decodeEnvelope(data.subarray(0, n)).ok, false, `truncated to ${n}`);
    assert.equal(decodeEnvelope(Buffer.concat([data, Buffer.from([0])])).ok, false);
    assert.equal(decodeEnvelope(Buffer.from("hello")).ok, false);
    assert.equal(decodeEnvelope(new Uint8Array(0)).ok, false);
    const rnd = random(99);
    for (let i = 0; i < 20_000; i++) {
      const copy = Buffer.from(data);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let f = 0; f < flips; f++) copy[Math.floor(rnd() * copy.length)] = Math.floor(rnd() * 256);
      const r = decodeEnvelope(copy);
      if (r.ok) {
        // Whatever decodes is still a message the broker can take.
        assert.ok(r.envelope.message.topic.length > 0 && !r.envelope.message.topic.includes("#"));
        assert.ok(r.envelope.message.qos <= 2);
      }
    }
    for (let i = 0; i < 5000; i++) {
      const junk = Buffer.alloc(Math.floor(rnd() * 64));
      for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(rnd() * 256);
      if (rnd() < 0.5 && junk.length > 3) {
        junk[0] = 0x53;
        junk[1] = 0x4c;
        junk[2] = ENVELOPE_VERSION;
      }
      decodeEnvelope(junk);
    }
  });

  test("invalid contents are refused: a wildcard topic, bad UTF-8, a wildcard response topic, an unknown property", () => {
    const bad = (m: Partial<Message>) => encodeEnvelope("o", 1, "ns", { ...full, ...m });
    assert.equal(decodeEnvelope(bad({ topic: "a/#" })).ok, false);
    assert.equal(decodeEnvelope(bad({ properties: { responseTopic: "a/+" } })).ok, false);
    const data = encodeEnvelope("o", 1, "ns", { ...full, topic: "ab" });
    const at = data.indexOf(Buffer.from("ab"));
    data[at] = 0xff;
    assert.equal(decodeEnvelope(data).ok, false);
  });

  test("generated odd topics survive", () => {
    const rnd = random(7);
    for (let i = 0; i < 500; i++) {
      const topic = generateTopic(rnd);
      const r = decodeEnvelope(encodeEnvelope("o", i, "ns", { ...full, topic }));
      assert.ok(r.ok && r.envelope.message.topic === topic, JSON.stringify(topic));
    }
  });
});
