import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Delivery } from "../../src/mqtt/session.js";
import { WireClient } from "../helpers/wire.js";
import { brokerOnLoopback } from "../helpers/bare_broker.js";
import { liveBytes } from "../helpers/memory.js";

// Attack on issue 10: `maxQueuedBytes` is meant to bound what one stalled QoS 1 subscriber
// costs, but the queue counts a message as payload + topic + 16 (delivery.ts `sizeOf`). A 5.0
// PUBLISH may carry ~1 MiB of User Properties (or Correlation Data, Response Topic, Content
// Type) and a 1-byte payload: each is counted ~40 bytes, so `maxQueuedMessages` (1 000) of
// them are ~1 GB held for one client that stopped reading. Measured on a running server (one
// stalled subscriber, 600 such publishes): RSS 102 MiB → 1 259 MiB.

const MiB = 1024 * 1024;

/** Bytes the user properties of a queued delivery really hold (one byte per latin-1 char). */
function propertyBytes(d: Delivery): number {
  const up = d.message.properties?.userProperties ?? {};
  let n = 0;
  for (const [k, v] of Object.entries(up)) for (const s of Array.isArray(v) ? v : [v]) n += k.length + String(s).length;
  return n + (d.message.properties?.correlationData?.length ?? 0);
}

describe("attack10: queued bytes must count MQTT 5 properties (maxQueuedBytes)", () => {
  const QUEUE_BYTES = 8 * MiB;
  const { broker: brokerOf, port: portOf } = brokerOnLoopback({ limits: { maxSocketBufferBytes: MiB, maxQueuedBytes: QUEUE_BYTES, maxQueuedMessages: 1000 } });

  test("a stalled QoS 1 subscriber, 64 publishes of 1 byte + ~960 KB of user properties: the queue holds at most maxQueuedBytes", async () => {
    const port = portOf();
    const broker = brokerOf();
    const slow = await WireClient.connected(port, "x", { protocolVersion: 5, clientId: "slow" });
    slow.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "props/#", qos: 1 }] });
    await slow.next("suback");
    slow.socket.pause();
    const pub = await WireClient.connected(port, "x", { protocolVersion: 5, clientId: "pub" });
    const slowConn = [...broker.connections].find((c) => c.client?.clientId === "slow")!;
    const before = liveBytes();
    // 16 pairs of 60 000 chars (a string pair is at most 65 535 bytes): ~960 KB a packet, under maxPacketSize.
    const userProperties = { k: Array.from({ length: 16 }, (_, i) => `${i}`.padEnd(60_000, "u")) };
    const count = 64;
    for (let i = 0; i < count; i++) {
      pub.send({ cmd: "publish", topic: "props/t", payload: Buffer.from([i]), qos: 1, messageId: i + 1, retain: false, dup: false, properties: { userProperties } });
      await pub.next("puback");
    }
    const grown = liveBytes() - before;
    const session = slowConn.session!;
    // Measured independently of the broker's count: payload, topic and properties, one byte a char.
    const realQueued = session.queue.reduce((n, d) => n + d.message.payload.length + d.message.topic.length + propertyBytes(d), 0);
    assert.ok(session.queueBytes >= realQueued, `counted ${session.queueBytes} bytes for ${realQueued} held`);
    // The bound the docs promise: a stalled client costs at most maxSocketBufferBytes + maxQueuedBytes + its window.
    assert.ok(
      realQueued <= QUEUE_BYTES + MiB,
      `queue holds ${session.queue.length} messages, ${(realQueued / MiB).toFixed(1)} MiB really, counted as ${session.queueBytes} bytes (cap ${QUEUE_BYTES})`,
    );
    assert.ok(grown < 24 * MiB, `grew by ${(grown / MiB).toFixed(1)} MiB`);
    slow.destroy();
    pub.destroy();
  });
});
