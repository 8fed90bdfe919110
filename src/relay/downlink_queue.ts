import type { QueuedDownlink, SqliteRelayRepository } from "../store/sqlite/relays.js";

type Message = Omit<QueuedDownlink, "seq">;

/**
 * One relay's QoS 1/2 downlink messages, persisted until the external broker acknowledges them
 * (so they survive a Sluice restart), bounded, and handed out in order. Rows in flight stay
 * stored; when the connection drops they are handed out again, from the oldest.
 */
export class DownlinkQueue {
  private count: number;
  private readonly inflight = new Set<number>();
  /** Highest seq handed out since the last rewind: the next `take` starts after it. */
  private handedOut = 0;

  constructor(
    private readonly repo: SqliteRelayRepository,
    private readonly relayId: string,
    private max: number,
  ) {
    this.count = repo.queued(relayId);
  }

  get length(): number {
    return this.count;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  setMax(max: number): void {
    this.max = max;
  }

  /**
   * Stores a message at the end, or refuses it (false) when the queue is full. The newest is
   * refused rather than the oldest dropped, as Mosquitto does: what is queued keeps its order.
   */
  push(m: Message): boolean {
    if (this.count >= this.max) return false;
    this.repo.enqueue(this.relayId, m);
    this.count++;
    return true;
  }

  /** The next messages not yet handed out, oldest first, so that at most `window` are in flight. */
  take(window: number): QueuedDownlink[] {
    const room = window - this.inflight.size;
    if (room <= 0 || this.count === 0) return [];
    const rows = this.repo.peek(this.relayId, this.handedOut, room);
    for (const r of rows) {
      this.inflight.add(r.seq);
      this.handedOut = r.seq;
    }
    return rows;
  }

  /** The broker acknowledged it: gone for good. */
  done(seq: number): void {
    if (!this.inflight.delete(seq)) return;
    this.repo.remove(seq);
    this.count--;
  }

  /** The connection dropped: whatever was in flight is sent again, from the oldest. */
  rewind(): void {
    this.inflight.clear();
    this.handedOut = 0;
  }
}
