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

export interface ConnectOptions {
  /** 4 (MQTT 3.1.1, the default) or 5. */
  protocolVersion?: 4 | 5;
  username?: string;
  password?: string;
}

export function connectPacket(clientId: string, options: ConnectOptions = {}): Buffer {
  const protocolVersion = options.protocolVersion ?? 4;
  return generate(
    {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion,
      clientId,
      clean: true,
      keepalive: KEEPALIVE_S,
      ...(options.username !== undefined && { username: options.username }),
      ...(options.password !== undefined && { password: Buffer.from(options.password) }),
    },
    { protocolVersion },
  );
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

/**
 * A QoS 1 PUBLISH (MQTT 5, no properties) and the offset of its 2-byte packet identifier, which
 * the ingest publisher patches in place for every copy it sends.
 */
export function qos1PublishTemplate(topic: string, payload: Buffer): { packet: Buffer; idOffset: number } {
  const packet = generate(
    { cmd: "publish", topic, payload, qos: 1, messageId: 1, retain: false, dup: false },
    { protocolVersion: 5 },
  );
  // Fixed header: the type byte, then 1-4 remaining-length bytes (the last one below 0x80).
  let header = 1;
  while ((packet[header]! & 0x80) !== 0) header++;
  header++;
  const idOffset = header + 2 + packet.readUInt16BE(header);
  if (packet.readUInt16BE(idOffset) !== 1) throw new Error("could not locate the packet identifier");
  return { packet, idOffset };
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
