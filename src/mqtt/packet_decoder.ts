import mqtt, { type Packet } from "mqtt-packet";

/** Where decoded packets go: the connection whose bytes are being decoded. */
export interface PacketSink {
  onPacket(packet: Packet): void;
  onMalformed(message: string): void;
}

const settingsByVersion = { 3: { protocolVersion: 3 }, 4: { protocolVersion: 4 }, 5: { protocolVersion: 5 } } as const;

/**
 * One mqtt-packet parser for every connection. A parser costs about 1.5 KB (it carries a
 * stream of its own); sharing one is safe because connections only feed it whole packets
 * (PacketFramer) and decoding is synchronous, so it is always back at a packet boundary, with
 * nothing left over, before the next connection's bytes arrive. The parser resets itself
 * after an error.
 */
const parser = mqtt.parser();
let sink: PacketSink | undefined;
parser.on("packet", (packet: Packet) => sink!.onPacket(packet));
parser.on("error", (err: Error) => sink!.onMalformed(err.message));

export function decodePackets(bytes: Buffer, protocolVersion: 3 | 4 | 5, target: PacketSink): void {
  // A CONNECT replaces the parser's settings with itself; reset them for every caller.
  const state = parser as unknown as { settings: object; _pos: number };
  state.settings = settingsByVersion[protocolVersion];
  // After a decoding error mqtt-packet resets its state but not its read offset: left as is,
  // one malformed packet would shift the decoding of the next connection's bytes.
  state._pos = 0;
  sink = target;
  try {
    parser.parse(bytes);
  } finally {
    sink = undefined;
  }
}
