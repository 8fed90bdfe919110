/**
 * "The bus has it": core NATS says nothing per message, but the server answers a PING only
 * after every command sent before it on the connection, so a PONG confirms every PUBLISH
 * written before the PING. Publishes waiting for confirmation share one PING per event-loop
 * turn; a batch not confirmed within `timeoutMs` (the connection was lost, or the server is
 * stuck) fails, and nats.js itself fails pending PINGs when the connection drops.
 */
export class Confirmations<T> {
  private batch: { item: T; resolve: () => void; reject: (err: Error) => void }[] = [];
  private scheduled = false;
  /** When the batch's first wait came: no message of the batch went out before it. */
  private startedAt = 0;

  constructor(
    /**
     * Confirms what was published before it; `items` are the waits' own, for what a confirmation
     * may need of them (orphan_replay.ts), `startedAt` when the first of them was published.
     */
    private readonly ping: (items: T[], startedAt: number) => Promise<void>,
    private readonly timeoutMs: number,
    private readonly failure: () => Error,
  ) {}

  /** Resolves once everything published so far on the connection is confirmed. */
  wait(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.batch.length === 0) this.startedAt = Date.now();
      this.batch.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = [];
    let settled = false;
    const fail = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const err = this.failure();
      for (const w of batch) w.reject(err);
    };
    const timer = setTimeout(fail, this.timeoutMs);
    let pong: Promise<void>;
    try {
      pong = this.ping(batch.map((w) => w.item), this.startedAt);
    } catch {
      fail();
      return;
    }
    pong.then(() => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const w of batch) w.resolve();
    }, fail);
  }
}
