import mqtt, { type Packet } from "mqtt-packet";
import { payloadFormatIndicatorByte } from "./payload_format.js";
import { ProtocolViolation, RC } from "./reason_codes.js";

/** Where decoded packets go: the connection whose bytes are being decoded. */
export interface PacketSink {
  onPacket(packet: Packet): void;
  onMalformed(message: string): void;
  /** A packet that decoded but breaks the protocol in a way only its bytes show; it is not passed on. */
  onViolation(violation: ProtocolViolation): void;
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
/** The parser's internals used here: its settings, read offset and unconsumed bytes. */
const state = parser as unknown as { settings: object; _pos: number; _list: { length: number } };
let sink: PacketSink | undefined;
/** The bytes being decoded: whole packets, so a packet's bytes are still here when it is emitted. */
let input: Buffer | undefined;
parser.on("packet", (packet: Packet) => {
  // mqtt-packet bounds strings and binary data by the packet, but not bytes, two- and four-byte
  // integers nor variable integers: a property section that claims more than the packet holds
  // reads those from the next packet's bytes, and the packet would be taken with values that are
  // not its own (a Payload Format Indicator, a Topic Alias...). Its read offset, still that of
  // the packet just parsed, says so: the packet is malformed (§2.2.2.1, 0x81).
  if (state._pos > packet.length!) {
    sink!.onMalformed(`${packet.cmd}: its properties run past the end of the packet`);
    return;
  }
  // mqtt-packet reads the Payload Format Indicator as a boolean; a nonzero one (rare, and never
  // on a PUBLISH without properties) is read again from the bytes, to tell a 1 from a 2.
  if (packet.cmd === "publish" && packet.properties?.payloadFormatIndicator !== undefined && packet.properties.payloadFormatIndicator !== false) {
    // The packet is consumed when emitted: it ends where the unconsumed bytes begin.
    const end = input!.length - state._list.length;
    const value = payloadFormatIndicatorByte(input!, end - packet.length!, end, packet.qos);
    if (value > 1) {
      sink!.onViolation(new ProtocolViolation(RC.PROTOCOL_ERROR, `Payload Format Indicator ${value}: only 0 and 1 are allowed`));
      return;
    }
  }
  sink!.onPacket(packet);
});
parser.on("error", (err: Error) => sink!.onMalformed(err.message));

export function decodePackets(bytes: Buffer, protocolVersion: 3 | 4 | 5, target: PacketSink): void {
  // A CONNECT replaces the parser's settings with itself; reset them for every caller.
  state.settings = settingsByVersion[protocolVersion];
  // After a decoding error mqtt-packet resets its state but not its read offset: left as is,
  // one malformed packet would shift the decoding of the next connection's bytes.
  state._pos = 0;
  sink = target;
  input = bytes;
  try {
    parser.parse(bytes);
  } finally {
    sink = undefined;
    input = undefined;
  }
}
