import type { QueuedDownlink, RelayRepository } from "../store/sqlite/relays.js";

type Message = Omit<QueuedDownlink, "seq">;

/**
 * One relay's QoS 1/2 downlink messages, persisted until the external broker acknowledges them
 * (so they survive a Sluice restart), bounded, and handed out in order. Rows in flight stay
 * stored; when the connection drops they are handed out again, from the oldest.
 *
 * The store's calls for one queue run one after another, in the order they were made, as
 * SQLite's synchronous calls did: a message is stored before a later one (its seq is greater),
 * a take sees every message pushed before it, and a removal lands before the rows are read again.
 */
export class DownlinkQueue {
  private readonly inflight = new Set<number>();
  /** Highest seq handed out since the last rewind: the next `take` starts after it. */
  private handedOut = 0;
  /** Bumped by `rewind`: a take that began before it hands nothing out. */
  private epoch = 0;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly repo: RelayRepository,
    private readonly relayId: string,
    private max: number,
    /** Stored messages, and those being stored. */
    private count: number,
  ) {}

  /** The relay's queue as stored. */
  static async open(repo: RelayRepository, relayId: string, max: number): Promise<DownlinkQueue> {
    return new DownlinkQueue(repo, relayId, max, await repo.queued(relayId));
  }

  /** The queue of a relay just created: nothing stored yet. */
  static empty(repo: RelayRepository, relayId: string, max: number): DownlinkQueue {
    return new DownlinkQueue(repo, relayId, max, 0);
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
   * Counted at once, so messages still being stored count toward the bound.
   */
  async push(m: Message): Promise<boolean> {
    if (this.count >= this.max) return false;
    this.count++;
    try {
      await this.inOrder(() => this.repo.enqueue(this.relayId, m));
    } catch (err) {
      this.count--;
      throw err;
    }
    return true;
  }

  /** The next messages not yet handed out, oldest first, so that at most `window` are in flight. */
  take(window: number): Promise<QueuedDownlink[]> {
    return this.inOrder(async () => {
      const room = window - this.inflight.size;
      if (room <= 0 || this.count === 0) return [];
      const epoch = this.epoch;
      const rows = await this.repo.peek(this.relayId, this.handedOut, room);
      if (epoch !== this.epoch) return [];
      for (const r of rows) {
        this.inflight.add(r.seq);
        this.handedOut = r.seq;
      }
      return rows;
    });
  }

  /** The broker acknowledged it: gone for good. */
  async done(seq: number): Promise<void> {
    if (!this.inflight.delete(seq)) return;
    this.count--;
    await this.inOrder(() => this.repo.remove(seq));
  }

  /** The connection dropped: whatever was in flight is sent again, from the oldest. */
  rewind(): void {
    this.inflight.clear();
    this.handedOut = 0;
    this.epoch++;
  }

  private inOrder<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
