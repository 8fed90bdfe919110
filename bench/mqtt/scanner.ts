// Counts PUBLISH packets in a raw MQTT byte stream by walking only the fixed headers.
// Full parsing (mqtt-packet's parser, MQTT.js) allocates an object per message and would make
// the load generator, not the broker, the bottleneck at a few hundred thousand messages/s.
import type { Histogram } from "../load/histogram.js";
import { STAMP_OFFSET } from "./packets.js";

export const PACKET_CONNACK = 2;
export const PACKET_PUBLISH = 3;
export const PACKET_SUBACK = 9;
export const PACKET_PINGRESP = 13;

/** Where one packet lies in a buffer (filled by `readFrame`, reused to spare an object per packet). */
export interface Frame {
  /** The fixed header byte (type in the high nibble, flags in the low one). */
  header: number;
  /** Offset of the variable header. */
  body: number;
  /** Offset just past the packet; `end - body` is its Remaining Length. */
  end: number;
}

/** Reads the fixed header of the packet starting at `p`; false when the packet is not whole in `buf`. */
export function readFrame(buf: Buffer, p: number, out: Frame): boolean {
  const n = buf.length;
  let q = p + 1;
  let remaining = 0;
  let shift = 0;
  while (q < n) {
    const b = buf[q++]!;
    remaining |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      if (q + remaining > n) return false;
      out.header = buf[p]!;
      out.body = q;
      out.end = q + remaining;
      return true;
    }
    shift += 7;
    if (shift > 21) throw new Error("malformed MQTT remaining length from broker");
  }
  return false;
}

/** Receives every non-PUBLISH packet (rare: handshakes and pings), as a standalone copy. */
export type ControlHandler = (type: number, packet: Buffer) => void;

export class FrameScanner {
  /** PUBLISH packets seen so far. */
  publishes = 0;
  /** When set, every PUBLISH's embedded send time is turned into a latency sample. */
  latency: Histogram | null = null;
  /**
   * Stamps older than this are not latency samples: blast packets carry 0, and anything sent
   * before the current phase began is a leftover, not a measurement.
   */
  minStampMs = 0;
  /** PUBLISH packets skipped by the latency recorder because of `minStampMs`. */
  stale = 0;
  /** Bytes of an incomplete packet left at the end of the previous chunk. */
  private carry: Buffer | null = null;
  private readonly frame: Frame = { header: 0, body: 0, end: 0 };

  constructor(private readonly onControl: ControlHandler) {}

  /** `nowMs` is read once per chunk by the caller: one clock call per read, not per message. */
  feed(chunk: Buffer, nowMs: number): void {
    let buf = chunk;
    if (this.carry !== null) {
      // Packets are tens of bytes, so a split one costs one small concat per read at most.
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    const n = buf.length;
    const hist = this.latency;
    let p = 0;
    let publishes = 0;
    const frame = this.frame;
    while (p < n) {
      if (!readFrame(buf, p, frame)) break;
      const { header, body: q, end } = frame;
      const type = header >>> 4;
      if (type === PACKET_PUBLISH) {
        publishes++;
        if (hist !== null) {
          const qos = (header >>> 1) & 3;
          const topicLength = (buf[q] << 8) | buf[q + 1];
          const payload = q + 2 + topicLength + (qos > 0 ? 2 : 0);
          if (end - payload >= STAMP_OFFSET + 8) {
            const stamp = buf.readDoubleLE(payload + STAMP_OFFSET);
            if (stamp >= this.minStampMs) hist.recordMs(nowMs - stamp);
            else this.stale++;
          }
        }
      } else {
        this.onControl(type, Buffer.from(buf.subarray(p, end)));
      }
      p = end;
    }
    if (p < n) this.carry = Buffer.from(buf.subarray(p));
    this.publishes += publishes;
  }
}
