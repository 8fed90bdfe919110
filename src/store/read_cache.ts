/**
 * Store reads kept in memory on hot paths: the read's promise is cached by key (so concurrent
 * readers share one read), a failed read is forgotten (the next caller tries again), and the
 * oldest entry goes once `max` are held. Owners call `delete` when the data changes.
 */
export class ReadCache<V> {
  private readonly entries = new Map<string, Promise<V>>();

  constructor(private readonly max = 50_000) {}

  get(key: string, read: () => Promise<V>): Promise<V> {
    let value = this.entries.get(key);
    if (!value) {
      value = read();
      value.catch(() => {
        if (this.entries.get(key) === value) this.entries.delete(key);
      });
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, value);
    }
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
