/**
 * A byte budget that many caches draw on: the broker's per-namespace topic match caches
 * (`mqtt.matchCacheBytes`) and the pipeline's per-account topic → actions caches
 * (`pipeline.actionTopicCacheBytes`). One budget for all accounts rather than one each: a
 * per-account budget multiplies with the number of accounts, and a cache is only a speed-up,
 * so the fair thing under pressure is to empty the largest caches (most likely the account
 * flooding new topics), not to grow.
 */
export class CacheBudget {
  used = 0;
  private readonly caches = new Set<BudgetedCache<unknown>>();

  constructor(readonly limit: number) {}

  register(cache: BudgetedCache<unknown>): void {
    this.caches.add(cache);
  }

  /** A cache that will not be used again stops counting (its bytes are given back). */
  unregister(cache: BudgetedCache<unknown>): void {
    cache.clear();
    this.caches.delete(cache);
  }

  /** Empties caches, the requester's own first, then the largest, until `bytes` fit. */
  makeRoom(bytes: number, requester: BudgetedCache<unknown>): void {
    requester.clear();
    while (this.used + bytes > this.limit) {
      let largest: BudgetedCache<unknown> | undefined;
      for (const c of this.caches) if (!largest || c.bytes > largest.bytes) largest = c;
      if (!largest || largest.bytes === 0) return;
      largest.clear();
    }
  }
}

/**
 * One account's (or namespace's) cache, counted in bytes against a shared `CacheBudget`.
 * Counting entries is not enough: a topic may be 64 KiB, and 4 095 such topics once held
 * 241 MiB in a match cache "limited" to 4 096 entries.
 */
export class BudgetedCache<V> {
  private readonly entries = new Map<string, V>();
  bytes = 0;

  constructor(private readonly budget: CacheBudget) {
    budget.register(this as BudgetedCache<unknown>);
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Caches `value` under `key`, costing `bytes`; something larger than the whole budget is not cached. */
  set(key: string, value: V, bytes: number): void {
    if (bytes > this.budget.limit) return;
    if (this.budget.used + bytes > this.budget.limit) this.budget.makeRoom(bytes, this as BudgetedCache<unknown>);
    this.entries.set(key, value);
    this.bytes += bytes;
    this.budget.used += bytes;
  }

  clear(): void {
    if (this.entries.size === 0) return;
    this.entries.clear();
    this.budget.used -= this.bytes;
    this.bytes = 0;
  }
}
