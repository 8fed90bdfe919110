export interface ReadCacheOptions<V> {
  /** Entries held at most (default 50 000). */
  max?: number;
  /**
   * Bytes held at most, each value counted by `sizeOf` once its read resolves (plus its key);
   * the oldest entries go until the total fits. A value larger than the whole budget is
   * returned but not kept.
   */
  maxBytes?: number;
  sizeOf?: (value: V) => number;
}

interface Entry<V> {
  value: Promise<V>;
  /** Counted once the read resolved; 0 until then. */
  bytes: number;
}

/** What an entry costs beside its value: the Map slot, the entry and promise objects. */
const ENTRY_OVERHEAD = 120;

/**
 * Store reads kept in memory on hot paths: the read's promise is cached by key (so concurrent
 * readers share one read), a failed read is forgotten (the next caller tries again), and the
 * oldest entries go once `max` are held or their values pass `maxBytes`. Owners call `delete`
 * when the data changes.
 */
export class ReadCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly max: number;
  private readonly maxBytes: number;
  private readonly sizeOf: ((value: V) => number) | undefined;
  private held = 0;

  constructor(options: number | ReadCacheOptions<V> = {}) {
    const o = typeof options === "number" ? { max: options } : options;
    this.max = o.max ?? 50_000;
    this.maxBytes = o.maxBytes ?? Number.POSITIVE_INFINITY;
    this.sizeOf = o.sizeOf;
  }

  /** Bytes counted for the values held (0 without `sizeOf`). */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, read: () => Promise<V>): Promise<V> {
    const found = this.entries.get(key);
    if (found) return found.value;
    const entry: Entry<V> = { value: read(), bytes: 0 };
    entry.value.then(
      (value) => {
        if (this.entries.get(key) !== entry || !this.sizeOf) return;
        entry.bytes = ENTRY_OVERHEAD + key.length * 2 + this.sizeOf(value);
        this.held += entry.bytes;
        this.shrink();
      },
      () => {
        if (this.entries.get(key) === entry) this.remove(key, entry);
      },
    );
    if (this.entries.size >= this.max) {
      const [oldestKey, oldest] = this.entries.entries().next().value!;
      this.remove(oldestKey, oldest);
    }
    this.entries.set(key, entry);
    return entry.value;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.remove(key, entry);
  }

  private remove(key: string, entry: Entry<V>): void {
    this.entries.delete(key);
    this.held -= entry.bytes;
  }

  /** Oldest first until the counted bytes fit (the newest entry goes too if it alone is over). */
  private shrink(): void {
    for (const [key, entry] of this.entries) {
      if (this.held <= this.maxBytes) return;
      this.remove(key, entry);
    }
  }
}

/** Approximate bytes of a JSON-like value: two bytes a character, a few per number or slot. */
export function approximateBytes(value: unknown): number {
  let n = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") n += 16 + v.length * 2;
    else if (v instanceof Date) n += 48;
    else if (Buffer.isBuffer(v)) n += 64 + v.length;
    else if (Array.isArray(v)) {
      n += 32 + v.length * 8;
      for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === "object") {
      n += 32;
      for (const [k, item] of Object.entries(v)) {
        n += 16 + k.length * 2;
        stack.push(item);
      }
    } else n += 8;
  }
  return n;
}
