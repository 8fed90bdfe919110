/**
 * The byte budget every namespace's match cache draws on (`mqtt.matchCacheBytes`). One budget
 * for the whole broker rather than one per namespace: a per-namespace budget multiplies with
 * the number of accounts, and a cache is only a speed-up, so the fair thing under pressure is
 * to empty the largest caches (most likely the account flooding new topics), not to grow.
 */
export class MatchCacheBudget {
  used = 0;
  private readonly caches = new Set<MatchCache<unknown>>();

  constructor(readonly limit: number) {}

  register(cache: MatchCache<unknown>): void {
    this.caches.add(cache);
  }

  /** Empties caches, the requester's own first, then the largest, until `bytes` fit. */
  makeRoom(bytes: number, requester: MatchCache<unknown>): void {
    requester.clear();
    while (this.used + bytes > this.limit) {
      let largest: MatchCache<unknown> | undefined;
      for (const c of this.caches) if (!largest || c.bytes > largest.bytes) largest = c;
      if (!largest || largest.bytes === 0) return;
      largest.clear();
    }
  }
}

/**
 * Per-topic results of one namespace's subscription matching, counted in bytes against a
 * shared `MatchCacheBudget`. Counting entries is not enough: a topic may be 64 KiB, and 4 095
 * such topics once held 241 MiB in a cache "limited" to 4 096 entries.
 */
export class MatchCache<V> {
  private readonly entries = new Map<string, V>();
  bytes = 0;

  constructor(private readonly budget: MatchCacheBudget) {
    budget.register(this as MatchCache<unknown>);
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Caches `value` under `key`, costing `bytes`; something larger than the whole budget is not cached. */
  set(key: string, value: V, bytes: number): void {
    if (bytes > this.budget.limit) return;
    if (this.budget.used + bytes > this.budget.limit) this.budget.makeRoom(bytes, this as MatchCache<unknown>);
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

/**
 * What a cached topic costs: the key (V8 keeps a string in one or two bytes per unit; count
 * two), a reference per result, and the Map entry and result objects themselves.
 */
export function matchEntryBytes(topic: string, results: number): number {
  return 2 * topic.length + 8 * results + ENTRY_OVERHEAD;
}

const ENTRY_OVERHEAD = 160;
