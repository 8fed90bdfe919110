/**
 * The Live Inspector's memory in the browser: a bounded ring of the latest events, the filtered
 * view the list shows, and the batching that turns a stream of 1 000 events/s into one render
 * per animation frame. No Preact here: the page owns rendering, this owns the numbers.
 *
 * - Events are appended to `incoming` as they arrive (one push each) and applied once per frame
 *   (`schedule`, requestAnimationFrame in the page), so however fast they come the list renders
 *   at most once per frame.
 * - `all` keeps at most `capacity` events (oldest out first); `shown` is the part of it the
 *   filter passes. Both are mutated in place: copying 10 000 items per frame is what this avoids.
 * - Paused, events keep arriving into `incoming` (bounded too: past `capacity` the oldest are
 *   counted in `missed` and dropped); resuming applies them in one go.
 * - Ids increase across the server, so an event whose id is not above the last one seen (a
 *   resumed stream repeating itself, history overlapping the stream) is dropped.
 */
import type { InspectorEventJson } from "../../../../src/http/api_types.js";

export type Predicate = (event: InspectorEventJson) => boolean;

export class InspectorFeed {
  /** Every kept event, oldest first, at most `capacity`. */
  readonly all: InspectorEventJson[] = [];
  /** The kept events the filter passes, oldest first: what the list shows. */
  readonly shown: InspectorEventJson[] = [];
  /** Rows the last frame removed from the head of `shown`, so the list can keep the reader's place. */
  trimmedShown = 0;
  private incoming: InspectorEventJson[] = [];
  private missed = 0;
  private lastId = 0;
  private frameRequested = false;
  private paused = false;
  private predicate: Predicate = () => true;

  constructor(
    readonly capacity: number,
    /** Called at most once per frame, after the lists changed (or the paused count did). */
    private readonly onChange: () => void,
    private readonly schedule: (run: () => void) => unknown = (run) => requestAnimationFrame(run),
  ) {}

  /** One event from the stream or the history (oldest first). */
  add(event: InspectorEventJson): void {
    if (event.id <= this.lastId) return;
    this.lastId = event.id;
    this.incoming.push(event);
    // Paused for long at a high rate: keep the newest `capacity`, count the rest (trimmed in
    // chunks, so each event costs one push and not one array shift).
    if (this.incoming.length > this.capacity * 1.25) {
      const excess = this.incoming.length - this.capacity;
      this.incoming.splice(0, excess);
      this.missed += excess;
    }
    this.requestFrame();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Events that arrived while paused: shown on resume (those beyond the ring's size are lost). */
  get waiting(): number {
    return this.paused ? this.incoming.length + this.missed : 0;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.missed = 0;
    this.requestFrame();
  }

  /** A new filter: the view is rebuilt from the ring now (one render, by the caller). */
  setFilter(predicate: Predicate): void {
    this.predicate = predicate;
    this.shown.length = 0;
    for (const event of this.all) if (predicate(event)) this.shown.push(event);
    this.trimmedShown = 0;
  }

  /** Forgets everything shown and waiting; events already seen are not taken again. */
  clear(): void {
    this.all.length = 0;
    this.shown.length = 0;
    this.incoming = [];
    this.missed = 0;
    this.trimmedShown = 0;
  }

  /** Applies what arrived since the last frame; exposed for tests and for a synchronous flush. */
  readonly flush = (): void => {
    this.frameRequested = false;
    this.trimmedShown = 0;
    if (!this.paused && this.incoming.length > 0) {
      const batch = this.incoming;
      this.incoming = [];
      const start = Math.max(0, batch.length - this.capacity);
      for (let i = start; i < batch.length; i++) {
        const event = batch[i]!;
        this.all.push(event);
        if (this.predicate(event)) this.shown.push(event);
      }
      this.trim();
    }
    this.onChange();
  };

  private trim(): void {
    const overflow = this.all.length - this.capacity;
    if (overflow <= 0) return;
    this.all.splice(0, overflow);
    const firstKept = this.all[0]!.id;
    let drop = 0;
    while (drop < this.shown.length && this.shown[drop]!.id < firstKept) drop++;
    if (drop > 0) this.shown.splice(0, drop);
    this.trimmedShown = drop;
  }

  private requestFrame(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    this.schedule(this.flush);
  }
}
