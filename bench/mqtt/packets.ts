// Every packet the load generator sends is encoded once, up front, with mqtt-packet; the hot
// paths only copy bytes, so encoding cost never shows up in the measurement.
import { generate } from "mqtt-packet";

/** Payload size fixed by the benchmark definition. */
export const PAYLOAD_BYTES = 16;

/**
 * Payload layout, little-endian:
 *   [0, 8)   send time, float64 milliseconds of the generator's performance.now()
 *   [8, 12)  publisher index
 *   [12, 16) per-publisher sequence number
 * Publisher and subscriber live in the same process, so the clocks agree exactly.
 */
export const STAMP_OFFSET = 0;
export const PUBLISHER_OFFSET = 8;
export const SEQ_OFFSET = 12;

/** Keep-alive long enough that no PINGREQ is ever due during a run, yet not "disabled". */
export const KEEPALIVE_S = 600;

export function connectPacket(clientId: string): Buffer {
  return generate({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clientId,
    clean: true,
    keepalive: KEEPALIVE_S,
  });
}

export function subscribePacket(filter: string, messageId: number): Buffer {
  return generate({
    cmd: "subscribe",
    messageId,
    subscriptions: [{ topic: filter, qos: 0 }],
  });
}

export function publishPacket(topic: string, publisher: number): Buffer {
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  payload.writeUInt32LE(publisher, PUBLISHER_OFFSET);
  return generate({ cmd: "publish", topic, payload, qos: 0, retain: false, dup: false });
}

export function pingreqPacket(): Buffer {
  return generate({ cmd: "pingreq" });
}

export function disconnectPacket(): Buffer {
  return generate({ cmd: "disconnect" });
}

/** `count` back-to-back copies of one packet: a single write() then moves thousands of messages. */
export function repeated(packet: Buffer, count: number): Buffer {
  const out = Buffer.allocUnsafeSlow(packet.length * count);
  out.fill(packet);
  return out;
}
