// QoS 1 publishing for the ingest scenario: one connection per device, a window of messages
// awaiting PUBACK, and PUBACKs counted (with their reason codes) straight from the byte stream.
// A PUBACK is the broker's word that the message is committed: Sluice holds it until the
// records an insert action produced are stored.
import { performance } from "node:perf_hooks";
import type { LoadClient } from "./client.js";
import type { Histogram } from "./histogram.js";
import { repeated } from "../mqtt/packets.js";
import { readFrame, type Frame } from "../mqtt/scanner.js";

const PACKET_PUBACK = 4;
const PACKET_DISCONNECT = 14;
/** MQTT packet identifiers run 1..65535; 0 is not allowed. */
const MAX_PACKET_ID = 65535;

export interface PublishTemplate {
  packet: Buffer;
  /** Where the 2-byte packet identifier sits in `packet`. */
  idOffset: number;
}

export class IngestPublisher {
  /** PUBLISH packets handed to the socket. */
  sent = 0;
  /** PUBACKs with a success reason code (< 0x80): committed messages. */
  acked = 0;
  /** PUBACKs with a failure reason code (>= 0x80). */
  failed = 0;
  /** Failure PUBACKs by reason code. */
  readonly failures = new Map<number, number>();
  /** Paced messages not sent because the window was full. */
  shed = 0;
  /** Sent, not yet acknowledged. */
  inflight = 0;
  /** PUBACKs whose packet id was not in flight (would mean the broker acked something twice). */
  unexpected = 0;
  /** Reason code of a DISCONNECT the broker sent, if any. */
  disconnectReason: number | null = null;
  /** When set, every PUBACK of a message sent in [minStampMs, maxStampMs) is a latency sample. */
  latency: Histogram | null = null;
  minStampMs = 0;
  maxStampMs = Infinity;

  private blasting = false;
  private nextId = 1;
  /** Send time of each packet id in flight; NaN when the id is free. */
  private readonly sentAt = new Float64Array(MAX_PACKET_ID + 1).fill(Number.NaN);
  private carry: Buffer | null = null;
  private readonly frame: Frame = { header: 0, body: 0, end: 0 };

  constructor(
    private readonly client: LoadClient,
    private readonly template: PublishTemplate,
    private readonly window: number,
  ) {
    client.handOver(this.onData);
  }

  get closed(): boolean {
    return this.client.closed;
  }

  /** Keeps the window full: sends now, and again whenever PUBACKs free slots. */
  startBlast(): void {
    this.blasting = true;
    this.fill(performance.now());
  }

  stop(): void {
    this.blasting = false;
  }

  close(): void {
    this.stop();
    this.client.destroy();
  }

  /** The Pacer's entry: up to `count` messages in one write, as many as the window has room for. */
  sendBatch(count: number, nowMs: number): void {
    const room = this.client.closed ? 0 : this.window - this.inflight;
    const n = Math.min(room, count);
    if (n > 0) this.send(n, nowMs);
    this.shed += count - n;
  }

  private fill(nowMs: number): void {
    const room = this.window - this.inflight;
    if (room > 0 && !this.client.closed) this.send(room, nowMs);
  }

  private send(count: number, nowMs: number): void {
    const { packet, idOffset } = this.template;
    const size = packet.length;
    // A fresh buffer per write: the socket may still hold the previous one.
    const batch = repeated(packet, count);
    for (let i = 0, off = idOffset; i < count; i++, off += size) {
      const id = this.nextId;
      this.nextId = id === MAX_PACKET_ID ? 1 : id + 1;
      batch.writeUInt16BE(id, off);
      this.sentAt[id] = nowMs;
    }
    this.inflight += count;
    this.sent += count;
    this.client.socket.write(batch);
  }

  private readonly onData = (chunk: Buffer): void => {
    const now = performance.now();
    let buf = chunk;
    if (this.carry !== null) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    const n = buf.length;
    let p = 0;
    const frame = this.frame;
    while (p < n) {
      if (!readFrame(buf, p, frame)) break;
      const { header, body: q, end } = frame;
      const remaining = end - q;
      const type = header >>> 4;
      if (type === PACKET_PUBACK && remaining >= 2) {
        const id = (buf[q]! << 8) | buf[q + 1]!;
        // MQTT 5: a PUBACK of exactly 2 bytes means success; otherwise the reason code follows.
        const rc = remaining >= 3 ? buf[q + 2]! : 0;
        const at = this.sentAt[id]!;
        if (Number.isNaN(at)) {
          this.unexpected++;
        } else {
          this.sentAt[id] = Number.NaN;
          this.inflight--;
          if (rc < 0x80) this.acked++;
          else {
            this.failed++;
            this.failures.set(rc, (this.failures.get(rc) ?? 0) + 1);
          }
          if (this.latency !== null && at >= this.minStampMs && at < this.maxStampMs) this.latency.recordMs(now - at);
        }
      } else if (type === PACKET_DISCONNECT) {
        this.disconnectReason = remaining >= 1 ? buf[q]! : 0;
      }
      p = end;
    }
    if (p < n) this.carry = Buffer.from(buf.subarray(p));
    if (this.blasting) this.fill(now);
  };
}
