import type { InspectorEvent } from "./types.js";

/**
 * One device's recent events, oldest first, in a circular array: at most `capacity` of them
 * (the oldest is overwritten on insert) and none older than the cutoff its caller passes in.
 * Each event's approximate size is kept beside it so the owner can bound memory across rings.
 */
export class EventRing {
  private readonly events: (InspectorEvent | undefined)[] = [];
  private readonly sizes: number[] = [];
  /** Index of the oldest event. */
  private head = 0;
  private count = 0;
  private totalBytes = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Appends `event`, overwriting the oldest when full; returns the change in bytes held. */
  push(event: InspectorEvent, bytes: number, cutoffMs: number): number {
    const before = this.totalBytes;
    this.dropOlderThan(cutoffMs);
    if (this.count === this.capacity) this.dropOldest();
    // The array grows to `capacity` only as events arrive, so a quiet device costs a few slots.
    const slot = (this.head + this.count) % this.capacity;
    this.events[slot] = event;
    this.sizes[slot] = bytes;
    this.count++;
    this.totalBytes += bytes;
    return this.totalBytes - before;
  }

  /** Drops events whose time is before `cutoffMs`; returns the change in bytes held (≤ 0). */
  dropOlderThan(cutoffMs: number): number {
    const before = this.totalBytes;
    while (this.count > 0 && this.events[this.head]!.time.getTime() < cutoffMs) this.dropOldest();
    return this.totalBytes - before;
  }

  /** Newest first. */
  *newestFirst(): IterableIterator<InspectorEvent> {
    for (let i = this.count - 1; i >= 0; i--) yield this.events[(this.head + i) % this.capacity]!;
  }

  private dropOldest(): void {
    this.totalBytes -= this.sizes[this.head]!;
    this.events[this.head] = undefined; // lets the event be collected now, not when the slot is reused
    this.head = (this.head + 1) % this.capacity;
    this.count--;
  }
}
