import { SluiceError } from "../errors.js";

/**
 * The bounds of a pool shared by accounts. `concurrency` slots in all, of which one account
 * holds at most `concurrencyPerAccount`: a slot cannot be taken back from a job once it runs
 * (an analysis for its whole timeout, a webhook until its endpoint answers or times out), so
 * the only way to keep a slot free for the next account is never to give one account them all.
 * Waiting items are bounded in all (`maxWaiting`, protecting the node) and per account
 * (`maxWaitingPerAccount`, so one account's flood fills its own share and no one else's).
 */
export interface FairQueueLimits {
  concurrency: number;
  concurrencyPerAccount: number;
  /** Default: unbounded (the owner bounds its items itself). */
  maxWaiting?: number;
  maxWaitingPerAccount?: number;
}

/**
 * A waiting item was refused: `scope` says which bound was full, "account" (the account's own
 * share: only that account is affected) or "all" (the node's bound).
 */
export class QueueFull extends SluiceError {
  constructor(
    readonly scope: "account" | "all",
    readonly bound: number,
    message = scope === "account" ? `the account already has ${bound} waiting` : `${bound} are already waiting`,
  ) {
    super("QUEUE_FULL", message, 429);
    this.name = "QueueFull";
  }
}

/**
 * Per-account FIFO sub-queues served round-robin for shared slots. First in, first out within
 * an account; across accounts, each `take` serves the next account in turn that has something
 * waiting and a slot to spare, and sends it to the back of the turn. An account flooding the
 * pool therefore waits behind its own items only: another account's item starts after at most
 * one item of each other waiting account, and never waits for the flood to drain.
 *
 * The queue only counts: the owner starts what `take` hands out and calls `finish` when it ends.
 */
export class FairQueue<T> {
  /** Accounts with waiting items, in turn order (a Map keeps insertion order; re-setting a key sends it to the back). */
  private readonly turns = new Map<string, T[]>();
  private readonly activeBy = new Map<string, number>();
  private waitingCount = 0;
  private activeCount = 0;

  constructor(private readonly limits: FairQueueLimits) {}

  get waiting(): number {
    return this.waitingCount;
  }

  get active(): number {
    return this.activeCount;
  }

  waitingOf(accountId: string): number {
    return this.turns.get(accountId)?.length ?? 0;
  }

  activeOf(accountId: string): number {
    return this.activeBy.get(accountId) ?? 0;
  }

  /** Whether an item of the account pushed now would start at once (so it would never wait). */
  canStart(accountId: string): boolean {
    return this.waitingOf(accountId) === 0 && this.hasSlot(accountId);
  }

  /**
   * Adds an item at the back of its account's queue. Throws QueueFull when it would have to
   * wait and a waiting bound is reached; an item that can start at once is never refused.
   * `unbounded` is for an item already admitted once (a webhook's retry coming back).
   */
  push(accountId: string, item: T, options: { unbounded?: boolean } = {}): void {
    if (!options.unbounded && !this.canStart(accountId)) {
      const perAccount = this.limits.maxWaitingPerAccount ?? Infinity;
      const all = this.limits.maxWaiting ?? Infinity;
      if (this.waitingOf(accountId) >= perAccount) throw new QueueFull("account", perAccount);
      if (this.waitingCount >= all) throw new QueueFull("all", all);
    }
    const queue = this.turns.get(accountId);
    if (queue) queue.push(item);
    else this.turns.set(accountId, [item]);
    this.waitingCount++;
  }

  /** The next item to start, counted as active until `finish(accountId)`; undefined when none may start now. */
  take(): { accountId: string; item: T } | undefined {
    if (this.activeCount >= this.limits.concurrency) return undefined;
    for (const [accountId, queue] of this.turns) {
      if (!this.hasSlot(accountId)) continue; // at its share: keeps its place in the turn
      const item = queue.shift()!;
      this.turns.delete(accountId);
      if (queue.length > 0) this.turns.set(accountId, queue);
      this.waitingCount--;
      this.activeCount++;
      this.activeBy.set(accountId, this.activeOf(accountId) + 1);
      return { accountId, item };
    }
    return undefined;
  }

  /** An item `take` handed out has ended: its slot is free. */
  finish(accountId: string): void {
    const n = this.activeOf(accountId);
    if (n === 0) return; // already forgotten by clear(); never let the count go negative
    if (n === 1) this.activeBy.delete(accountId);
    else this.activeBy.set(accountId, n - 1);
    this.activeCount--;
  }

  /** Waiting items, account by account, each account's in order. */
  *items(): IterableIterator<{ accountId: string; item: T }> {
    for (const [accountId, queue] of this.turns) for (const item of queue) yield { accountId, item };
  }

  /** Removes the waiting items `drop` selects; returns them. */
  remove(drop: (item: T, accountId: string) => boolean): T[] {
    const removed: T[] = [];
    for (const [accountId, queue] of [...this.turns]) {
      const kept = queue.filter((item) => !(drop(item, accountId) && removed.push(item)));
      if (kept.length === queue.length) continue;
      if (kept.length === 0) this.turns.delete(accountId);
      else this.turns.set(accountId, kept);
    }
    this.waitingCount -= removed.length;
    return removed;
  }

  /** Removes every waiting item; returns them. Active ones stay counted until they finish. */
  clear(): T[] {
    const all = [...this.items()].map((e) => e.item);
    this.turns.clear();
    this.waitingCount = 0;
    return all;
  }

  private hasSlot(accountId: string): boolean {
    return this.activeCount < this.limits.concurrency && this.activeOf(accountId) < this.limits.concurrencyPerAccount;
  }
}
