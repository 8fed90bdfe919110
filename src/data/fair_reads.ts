import { FairQueue, QueueFull } from "../limits/fair_queue.js";
import { LimitExceeded } from "../limits/errors.js";

export interface FairReadsLimits {
  /** Reads running at once, all owners together (on PostgreSQL, below the pool's size: writes keep connections). */
  concurrency: number;
  /** Reads of one owner (an account, a public link) running at once. */
  perAccount: number;
  /** Reads of one owner waiting for a slot; past it `refusal()` (a 429). */
  waitingPerAccount: number;
  /** The error a read past `waitingPerAccount` gets; default: the record reads' own. */
  refusal?: () => Error;
}

/**
 * Record reads (`GET /data`, `GET /device/:id/data`; public links' widget reads, keyed by link)
 * take a slot, shared round-robin between accounts. Without it the store's connections go first come, first served: one account keeping
 * big pages in flight held every pooled connection and another account's one-record read waited
 * seconds, then failed (docs/cluster.md, "Pool"). With it that account waits behind its own reads.
 */
export class FairReads {
  private readonly queue: FairQueue<() => void>;

  constructor(private readonly limits: FairReadsLimits) {
    this.queue = new FairQueue({ concurrency: limits.concurrency, concurrencyPerAccount: limits.perAccount, maxWaitingPerAccount: limits.waitingPerAccount });
  }

  async run<T>(accountId: string, read: () => Promise<T>): Promise<T> {
    await this.slot(accountId);
    try {
      return await read();
    } finally {
      this.queue.finish(accountId);
      this.startWaiting();
    }
  }

  private slot(accountId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.queue.push(accountId, resolve);
      } catch (err) {
        if (err instanceof QueueFull) reject(this.limits.refusal?.() ?? new LimitExceeded("data.readsWaitingPerAccount", `the account already has ${this.limits.waitingPerAccount} record reads waiting`, 1000));
        else reject(err);
        return;
      }
      this.startWaiting();
    });
  }

  private startWaiting(): void {
    for (let next = this.queue.take(); next; next = this.queue.take()) next.item();
  }
}
