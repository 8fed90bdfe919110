// Two ways of publishing pre-encoded QoS 0 messages over one raw connection:
// blast (saturate: write as fast as the socket drains) and batches handed out by the Pacer.
import type { LoadClient } from "./client.js";
import { PAYLOAD_BYTES, publishPacket, repeated, SEQ_OFFSET, STAMP_OFFSET } from "../mqtt/packets.js";

/** Messages per blast write; ~64 KiB per write(), so syscall cost per message is negligible. */
const BLAST_PACKETS = 2048;
/** Blast writes per event-loop turn before yielding, so subscribers' reads are not starved. */
const BLAST_WRITES_PER_TURN = 4;
/**
 * Paced writes are skipped (shed) once this much is already queued in user space: the broker is
 * pushing back, and queueing more in the generator would only measure our own buffer.
 */
const PACED_QUEUE_LIMIT = 256 * 1024;

export class Publisher {
  /** Messages handed to the socket. */
  sent = 0;
  /** Paced messages dropped by the generator because the socket was backed up. */
  shed = 0;
  private blasting = false;
  private awaitingDrain = false;
  private seq = 0;
  private readonly packet: Buffer;
  private readonly blastBuffer: Buffer;

  constructor(
    private readonly client: LoadClient,
    topic: string,
    index: number,
  ) {
    this.packet = publishPacket(topic, index);
    this.blastBuffer = repeated(this.packet, BLAST_PACKETS);
  }

  startBlast(): void {
    if (this.blasting) return;
    this.blasting = true;
    // A drain listener from the previous blast will resume pumping by itself.
    if (!this.awaitingDrain) this.pump();
  }

  stop(): void {
    this.blasting = false;
  }

  close(): void {
    this.stop();
    this.client.destroy();
  }

  /** Sends `count` messages stamped with `nowMs` in a single write. */
  sendBatch(count: number, nowMs: number): void {
    const socket = this.client.socket;
    if (this.client.closed || socket.writableLength > PACED_QUEUE_LIMIT) {
      this.shed += count;
      return;
    }
    const size = this.packet.length;
    // A fresh buffer per batch: the socket may still hold the previous one when we return.
    const batch = repeated(this.packet, count);
    const payload = size - PAYLOAD_BYTES;
    for (let i = 0, off = payload; i < count; i++, off += size) {
      batch.writeDoubleLE(nowMs, off + STAMP_OFFSET);
      batch.writeUInt32LE(this.seq++ >>> 0, off + SEQ_OFFSET);
    }
    socket.write(batch);
    this.sent += count;
  }

  private readonly pump = (): void => {
    this.awaitingDrain = false;
    const socket = this.client.socket;
    for (let writes = 0; this.blasting && !this.client.closed; writes++) {
      if (writes === BLAST_WRITES_PER_TURN) {
        setImmediate(this.pump);
        return;
      }
      this.sent += BLAST_PACKETS;
      if (!socket.write(this.blastBuffer)) {
        this.awaitingDrain = true;
        socket.once("drain", this.pump);
        return;
      }
    }
  };
}

/** Smallest batch a publisher is handed, so 100 slow publishers do not mean 100 writes a tick. */
const MIN_BATCH = 8;

/** Anything that can send `count` messages stamped `nowMs` in one write. */
export interface BatchSender {
  sendBatch(count: number, nowMs: number): void;
}

/**
 * Spreads a fixed total rate over the publishers. Each 1 ms timer tick sends whatever the
 * schedule says is due, so a late tick (busy event loop) catches up instead of losing rate.
 */
export class Pacer {
  private timer: NodeJS.Timeout | null = null;
  private started = 0;
  private due = 0;
  private next = 0;
  /** Messages the schedule has called for so far. */
  offered = 0;

  constructor(
    private readonly publishers: readonly BatchSender[],
    private readonly ratePerS: number,
    private readonly clock: () => number,
    private readonly minBatch = MIN_BATCH,
  ) {}

  start(): void {
    this.started = this.clock();
    this.timer = setInterval(() => this.tick(), 1);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const now = this.clock();
    const target = Math.floor(((now - this.started) / 1000) * this.ratePerS);
    let remaining = target - this.due;
    if (remaining <= 0) return;
    this.due = target;
    this.offered += remaining;
    const count = this.publishers.length;
    const chunk = Math.max(this.minBatch, Math.ceil(remaining / count));
    while (remaining > 0) {
      const n = Math.min(chunk, remaining);
      this.publishers[this.next]!.sendBatch(n, now);
      this.next = (this.next + 1) % count;
      remaining -= n;
    }
  }
}
