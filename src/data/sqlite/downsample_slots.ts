/**
 * Summaries of whole hours of one variable (count, min, max, total, first and last time of its
 * numeric records), kept in memory for `query=downsample` (bucket_store.ts).
 *
 * A chart over a year in 600 buckets covers ~8 760 hours: once their summaries are known, a
 * bucket is its whole hours (read here) plus the two partial hours at its edges (read from the
 * records). The first query of a range reads every record, as without the cache, and its hours
 * are then summarized in the background; the next queries (a dashboard reloaded, another
 * viewer, the next refresh) read only the edges: ~7 % of the records for a year at 600 buckets.
 *
 * Kept exact by the store: a committed insert forgets the hours its records fall in; an edit or
 * a delete forgets every hour of the variables it touched; dropping a device forgets its bucket.
 * An insert commits in the writer thread before the main thread hears of it, and a summary is
 * computed and kept in one synchronous step, so whichever comes first, the insert's forgetting
 * runs after both and no summary missing a record survives it.
 *
 * Bounded in (approximate) bytes, `data.downsampleCacheBytes`: past it the least recently used
 * variables' summaries go. With nothing kept (never queried, or 0 bytes) an insert costs one
 * size check.
 */
export const SLOT_MS = 3_600_000;

/** One hour's numeric records; `n` 0: none (kept too: an empty hour is not read again). */
export interface SlotSummary {
  n: number;
  mn: number;
  mx: number;
  total: number;
  first: number;
  last: number;
}

/** Bytes counted per hour kept: its Map entry and the summary object. */
const SLOT_BYTES = 120;
/** Bytes counted per variable kept: its key and Map. */
const VARIABLE_BYTES = 200;

export class DownsampleSlots {
  /** `${bucket}\n${variable}` → slot start → summary; least recently used first. */
  private readonly byVariable = new Map<string, Map<number, SlotSummary>>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get size(): number {
    return this.byVariable.size;
  }

  /** The variable's kept hours (made most recently used), or undefined. */
  slotsOf(bucket: number, variable: string): Map<number, SlotSummary> | undefined {
    const key = keyOf(bucket, variable);
    const slots = this.byVariable.get(key);
    if (slots) {
      this.byVariable.delete(key);
      this.byVariable.set(key, slots);
    }
    return slots;
  }

  /** Whether `hours` summaries of one variable fit in the cache at all. */
  fits(hours: number): boolean {
    return VARIABLE_BYTES + hours * SLOT_BYTES <= this.maxBytes;
  }

  keep(bucket: number, variable: string, slot: number, summary: SlotSummary): void {
    if (!this.enabled) return;
    const key = keyOf(bucket, variable);
    let slots = this.byVariable.get(key);
    // One variable never takes more than the whole cache (it is never evicted to make room for itself).
    if (slots && !slots.has(slot) && !this.fits(slots.size + 1)) return;
    if (!slots) {
      this.byVariable.set(key, (slots = new Map()));
      this.bytes += VARIABLE_BYTES;
    }
    if (!slots.has(slot)) this.bytes += SLOT_BYTES;
    slots.set(slot, summary);
    for (const [oldest, list] of this.byVariable) {
      if (this.bytes <= this.maxBytes || oldest === key) break;
      this.drop(oldest, list);
    }
  }

  /** Records were inserted at `times` (epoch ms) for the variable: their hours are forgotten. */
  inserted(bucket: number, variable: string, time: number): void {
    if (this.byVariable.size === 0) return;
    const slots = this.byVariable.get(keyOf(bucket, variable));
    if (!slots) return;
    const slot = slotOf(time);
    if (slots.delete(slot)) this.bytes -= SLOT_BYTES;
  }

  /** Every hour of the variable is forgotten (its records were edited or deleted). */
  forgetVariable(bucket: number, variable: string): void {
    if (this.byVariable.size === 0) return;
    const key = keyOf(bucket, variable);
    const slots = this.byVariable.get(key);
    if (slots) this.drop(key, slots);
  }

  forgetBucket(bucket: number): void {
    const prefix = `${bucket}\n`;
    for (const [key, slots] of this.byVariable) if (key.startsWith(prefix)) this.drop(key, slots);
  }

  private drop(key: string, slots: Map<number, SlotSummary>): void {
    this.byVariable.delete(key);
    this.bytes -= VARIABLE_BYTES + slots.size * SLOT_BYTES;
  }
}

export function slotOf(time: number): number {
  return Math.floor(time / SLOT_MS) * SLOT_MS;
}

function keyOf(bucket: number, variable: string): string {
  return `${bucket}\n${variable}`;
}
