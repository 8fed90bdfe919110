import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BatchBuilder, encodeBatch, splitBatch } from "../../src/cluster/batch.js";
import { decodeEnvelope, EnvelopeWriter } from "../../src/cluster/envelope.js";
import type { Message } from "../../src/mqtt/types.js";
import { random } from "../helpers/topic_gen.js";

// Envelopes coalesced into one NATS message (src/cluster/batch.ts): what goes in comes out, in
// order; one envelope goes alone; a batch whose framing does not add up is refused.

const message = (topic: string, payload: string): Message => ({ topic, payload: Buffer.from(payload), qos: 1, retain: false, properties: undefined, expiresAt: undefined, publisher: "ns\u0000c" });

function build(builder: BatchBuilder, writer: EnvelopeWriter, subject: string, messages: Message[]): Buffer | undefined {
  let seq = 0;
  for (const m of messages) {
    const size = writer.prepare("ns", m);
    assert.ok(builder.fits(subject, size));
    const at = builder.reserve(subject, size);
    assert.equal(writer.writeInto(builder.buffer, at, ++seq, m), at + size);
  }
  return builder.take();
}

describe("batches", () => {
  test("envelopes written into a batch come out in order, each decodable; one envelope goes alone", () => {
    const writer = new EnvelopeWriter("node/1");
    const builder = new BatchBuilder(64 * 1024);
    const data = build(builder, writer, "s", [message("a/b", "1"), message("a/b", "2"), message("a/b", "3")])!;
    const parts = splitBatch(data)!;
    assert.deepEqual(parts.map((p) => {
      const r = decodeEnvelope(p);
      assert.ok(r.ok);
      return [r.envelope.seq, r.envelope.message.payload.toString()];
    }), [[1, "1"], [2, "2"], [3, "3"]]);
    const single = build(builder, writer, "s", [message("x", "only")])!;
    assert.equal(single[1], 0x4c, "a lone envelope is an envelope (SL), not a batch (SB)");
    const r = decodeEnvelope(splitBatch(single)![0]!);
    assert.ok(r.ok && r.envelope.message.payload.toString() === "only");
    assert.equal(builder.take(), undefined);
  });

  test("another subject, or no room left, does not fit; an envelope larger than the buffer goes in one of its own", () => {
    const writer = new EnvelopeWriter("node/1");
    const builder = new BatchBuilder(200);
    const size = writer.prepare("ns", message("a", "x".repeat(50)));
    builder.reserve("s", size);
    assert.equal(builder.fits("other", size), false);
    builder.reserve("s", size);
    assert.equal(builder.fits("s", size), false);
    builder.take();
    const big = message("a", "y".repeat(1000));
    const at = builder.reserve("s", writer.prepare("ns", big));
    writer.writeInto(builder.buffer, at, 1, big);
    const r = decodeEnvelope(splitBatch(builder.take()!)![0]!);
    assert.ok(r.ok && r.envelope.message.payload.length === 1000);
  });

  test("a batch whose framing does not add up is refused, whatever the bytes", () => {
    const writer = new EnvelopeWriter("o");
    const data = encodeBatch([writer.write(1, "ns", message("a", "1")), writer.write(2, "ns", message("a", "2"))]);
    for (let n = 3; n < data.length; n++) assert.equal(splitBatch(data.subarray(0, n)), undefined, `truncated to ${n}`);
    assert.equal(splitBatch(Buffer.concat([data, Buffer.from([0])])), undefined);
    const zero = Buffer.from(data);
    zero.writeUInt16BE(0, 3);
    assert.equal(splitBatch(zero.subarray(0, 5)), undefined);
    const rnd = random(5);
    for (let i = 0; i < 5000; i++) {
      const copy = Buffer.from(data);
      copy[2 + Math.floor(rnd() * (copy.length - 2))] = Math.floor(rnd() * 256);
      const parts = splitBatch(copy);
      if (parts) for (const part of parts) decodeEnvelope(part);
    }
  });
});
