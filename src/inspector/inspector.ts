import { SluiceError } from "../errors.js";
import { boundDetail, DEFAULT_DETAIL_LIMITS, type DetailLimits } from "./detail.js";
import { EventRing } from "./ring.js";
import type { InspectorEvent, InspectorEventKind, InspectorSink } from "./types.js";

export interface InspectorOptions {
  /** Events kept per device (default 500). */
  maxEventsPerDevice?: number;
  /** Events older than this are dropped (default 24 h). */
  maxAgeMs?: number;
  /**
   * Devices with a ring; past it a ring not used lately goes (default 10 000). "Lately" is the
   * CLOCK approximation of least-recently-used: using a ring sets a flag, where exact LRU would
   * reorder a Map on every event (a third of `record`'s cost with many devices).
   */
  maxDevices?: number;
  /**
   * Approximate bytes held by all rings together; past it rings not used lately go
   * (default 128 MiB). Without it the two bounds above allow 10 000 × 500 events of ~1.3 kB.
   */
  maxTotalBytes?: number;
  /** Bounds on one event's detail (default: 1 kB of JSON, 256-character strings and previews). */
  detailLimits?: Partial<DetailLimits>;
  /** Characters kept of a summary (default 300). */
  maxSummaryChars?: number;
  /** Devices whose inspector is off, as persisted (loaded at start). */
  disabled?: Iterable<string>;
  /** Saves a device's on/off switch; `setEnabled` waits for it and changes nothing if it fails. */
  persistEnabled?: (deviceId: string, enabled: boolean) => void | Promise<void>;
  /** Open live streams per account (`admitStream`); past it a new one is refused with 429 (default 100). */
  maxStreamsPerAccount?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface ListOptions {
  kinds?: readonly InspectorEventKind[];
  /** Case-insensitive, over the summary and the detail's JSON. */
  search?: string;
  /** Only events after this one (an event id) or this time. */
  since?: number | Date;
  /** Only events before this one (an event id) or this time: the next page of a newest-first list. */
  before?: number | Date;
  /** Page size, 1 to 500 (the UI offers 25, 50, 100, 500); default 50. */
  limit?: number;
}

/**
 * Where a device's events also go when another node of a cluster follows it live
 * (cluster/event_relay.ts). Absent on one node.
 */
export interface InspectorRelay {
  forward(event: InspectorEvent): void;
}

/** A device gained its first live listener here (true) or lost its last (false). */
export type WatchObserver = (deviceId: string, watching: boolean) => void;

/** A live listener gets the events recorded since its last call, oldest first, on a later tick. */
export type InspectorListener = (events: readonly InspectorEvent[]) => void;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** Measured cost (Node 20) of one event object, its Date, string headers and ring slots, beyond the characters counted. */
const EVENT_OVERHEAD_BYTES = 240;

/** A device's ring and its CLOCK bit: set when used, cleared when eviction passes it over. */
interface RingEntry {
  ring: EventRing;
  used: boolean;
}

interface Subscriber {
  listener: InspectorListener;
  onEnd: (() => void) | undefined;
  /** The last event id recorded when it subscribed: a flush gives it only later ones. */
  after: number;
}

/**
 * The live inspector's memory: a bounded ring of recent events per device, and the live
 * listeners (SSE streams) per device.
 *
 * Cost, which is what "costs near nothing when no one is watching" means here: a device's
 * inspector is on by default, so that opening it shows what just happened. With it switched off,
 * `wants` is one Set lookup (~15 ns) and callers on hot paths skip building details altogether.
 * With it on, `record` bounds the detail (a walk over a small object) and stores one small
 * object in the device's ring: no I/O, no serialization; 0.4-1 µs without detail and 1-4 µs
 * with an MQTT message's detail, mostly the garbage collector's work on the retained events
 * (`bench/inspector.ts`, docs/inspector.md).
 *
 * Live listeners are not called from `record`: with 1 000 streams open on one device, calling
 * each inline made every publish do 1 000 serializations and socket writes (publishing went from
 * 55 ms to 5.4 s per 1 000 messages). A watched device's events are queued instead (one push)
 * and handed to its listeners in one batch per listener on a later tick (setImmediate), so the
 * publish path does O(1) per event whatever the number of streams, and a stream writes a tick's
 * events in one write.
 */
export class Inspector implements InspectorSink {
  /** In eviction order: a Map iterates in insertion order, and passed-over entries move to its end. */
  private readonly rings = new Map<string, RingEntry>();
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly disabled: Set<string>;
  private readonly maxEvents: number;
  private readonly maxAgeMs: number;
  private readonly maxDevices: number;
  private readonly maxTotalBytes: number;
  private readonly maxSummary: number;
  private readonly detailLimits: DetailLimits;
  private readonly persist: InspectorOptions["persistEnabled"];
  private readonly now: () => number;
  private lastId = 0;
  private totalBytes = 0;
  /** Events of watched devices not yet handed to their listeners, by device. */
  private pending = new Map<string, InspectorEvent[]>();
  private flushScheduled = false;
  private readonly maxStreamsPerAccount: number;
  private readonly streamsPerAccount = new Map<string, number>();
  private switching: Promise<void> = Promise.resolve();
  /** Devices another node follows live (`remoteWatch`): their events are recorded and forwarded. */
  private readonly remoteWatched = new Set<string>();
  private relay: InspectorRelay | undefined;
  private readonly watchObservers = new Set<WatchObserver>();

  constructor(options: InspectorOptions = {}) {
    this.maxEvents = positiveInteger(options.maxEventsPerDevice ?? 500, "maxEventsPerDevice");
    this.maxAgeMs = positiveInteger(options.maxAgeMs ?? 24 * 3600_000, "maxAgeMs");
    this.maxDevices = positiveInteger(options.maxDevices ?? 10_000, "maxDevices");
    this.maxTotalBytes = positiveInteger(options.maxTotalBytes ?? 128 * 1024 * 1024, "maxTotalBytes");
    this.maxSummary = positiveInteger(options.maxSummaryChars ?? 300, "maxSummaryChars");
    this.detailLimits = { ...DEFAULT_DETAIL_LIMITS, ...options.detailLimits };
    this.disabled = new Set(options.disabled);
    this.persist = options.persistEnabled;
    this.now = options.now ?? Date.now;
    this.maxStreamsPerAccount = positiveInteger(options.maxStreamsPerAccount ?? 100, "maxStreamsPerAccount");
  }

  /** False when the device's inspector is switched off: then `record` would drop the event. */
  wants(deviceId: string): boolean {
    return this.disabled.size === 0 || !this.disabled.has(deviceId);
  }

  /** Whether a live listener (an open inspector) follows the device. */
  watching(deviceId: string): boolean {
    return this.subscribers.has(deviceId) || this.remoteWatched.has(deviceId);
  }

  /** Sends the events of devices other nodes follow through `relay` (a cluster). */
  attachRelay(relay: InspectorRelay | undefined): void {
    this.relay = relay;
  }

  /** Another node follows the device live (true), or no other node does any more (false). */
  remoteWatch(deviceId: string, watching: boolean): void {
    if (watching) this.remoteWatched.add(deviceId);
    else this.remoteWatched.delete(deviceId);
  }

  /** Tells `observer` when a device gains its first local live listener or loses its last; returns the function that stops it. */
  onLocalWatch(observer: WatchObserver): () => void {
    this.watchObservers.add(observer);
    for (const deviceId of this.subscribers.keys()) observer(deviceId, true);
    return () => this.watchObservers.delete(observer);
  }

  /** Devices followed live here, for a cluster's interest refresh. */
  locallyWatched(): string[] {
    return [...this.subscribers.keys()];
  }

  /**
   * An event another node recorded for a device followed here: kept in this node's ring (with
   * an id of this node, so streams resume by it) and handed to the live listeners, never
   * forwarded again. The sending node's switch decided whether it was recorded.
   */
  deliver(deviceId: string, kind: InspectorEventKind, summary: string, time: Date, detail: Record<string, unknown> | undefined): void {
    this.store(deviceId, kind, summary, time.getTime(), detail, false);
  }

  isEnabled(deviceId: string): boolean {
    return !this.disabled.has(deviceId);
  }

  /**
   * The inspector's start/stop switch; persisted first, so a failed save changes nothing.
   * Switches apply one at a time, so two quick clicks cannot persist one state and keep another.
   */
  setEnabled(deviceId: string, on: boolean): Promise<void> {
    const applied = this.switching.then(() => this.applySwitch(deviceId, on));
    this.switching = applied.catch(() => {}); // a failed switch must not block the next ones
    return applied;
  }

  private async applySwitch(deviceId: string, on: boolean): Promise<void> {
    if (this.isEnabled(deviceId) === on) return;
    try {
      await this.persist?.(deviceId, on);
    } catch (err) {
      throw new SluiceError("INSPECTOR_PERSIST_FAILED", `Could not save the inspector switch: ${(err as Error).message}`, 500);
    }
    if (on) this.disabled.delete(deviceId);
    else this.disabled.add(deviceId);
    this.onSwitched?.(deviceId, on);
  }

  /** Told after a switch flipped here is saved (a cluster tells the other nodes: cluster/control.ts). */
  onSwitched: ((deviceId: string, on: boolean) => void) | undefined;

  /** A switch another node flipped and saved: applied here, not saved again. */
  switchedElsewhere(deviceId: string, on: boolean): void {
    if (on) this.disabled.delete(deviceId);
    else this.disabled.add(deviceId);
  }

  record(deviceId: string, kind: InspectorEventKind, summary: string, detail?: Record<string, unknown>): void {
    if (!this.wants(deviceId)) return;
    this.store(deviceId, kind, summary, this.now(), detail, true);
  }

  private store(deviceId: string, kind: InspectorEventKind, summary: string, now: number, detail: Record<string, unknown> | undefined, local: boolean): void {
    const bounded = detail === undefined ? undefined : boundDetail(detail, this.detailLimits);
    const event: InspectorEvent = {
      id: ++this.lastId,
      deviceId,
      time: new Date(now),
      kind,
      summary: summary.length > this.maxSummary ? `${summary.slice(0, this.maxSummary)}…` : summary,
    };
    if (bounded) event.detail = bounded.detail;
    if (!local) event.relayed = true;
    const bytes = EVENT_OVERHEAD_BYTES + event.summary.length * 2 + (bounded?.bytes ?? 0) * 2; // UTF-16 strings
    this.totalBytes += this.ringFor(deviceId).push(event, bytes, now - this.maxAgeMs);
    this.evict(deviceId);
    if (local && this.relay && this.remoteWatched.has(deviceId)) this.relay.forward(event);

    if (!this.subscribers.has(deviceId)) return;
    let queued = this.pending.get(deviceId);
    if (queued === undefined) this.pending.set(deviceId, (queued = []));
    queued.push(event);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /**
   * Hands the queued events to their listeners, one call per listener and tick. The queue holds
   * one tick's events of watched devices (each already bounded in bytes, and the device's ring
   * holds them anyway); a listener that cannot keep up drops them itself (SseStream.offer).
   */
  readonly flush = (): void => {
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [deviceId, events] of pending) {
      for (const subscriber of this.subscribers.get(deviceId) ?? []) {
        const fresh = events[0]!.id > subscriber.after ? events : events.filter((event) => event.id > subscriber.after);
        if (fresh.length === 0) continue;
        try {
          subscriber.listener(fresh);
        } catch {
          // A broken listener must not starve the others.
        }
      }
    }
  };

  /**
   * Counts a live stream against its account's `maxStreamsPerAccount`: returns the function that
   * releases it, or throws TOO_MANY_STREAMS (429) when the account has as many open already.
   */
  admitStream(accountId: string): () => void {
    const open = this.streamsPerAccount.get(accountId) ?? 0;
    if (open >= this.maxStreamsPerAccount) {
      throw new SluiceError(
        "TOO_MANY_STREAMS",
        `Too many inspector streams: this account already has ${open} open, at most ${this.maxStreamsPerAccount} (inspector.maxStreamsPerAccount). Close one first.`,
        429,
      );
    }
    this.streamsPerAccount.set(accountId, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.streamsPerAccount.get(accountId) ?? 1) - 1;
      if (n <= 0) this.streamsPerAccount.delete(accountId);
      else this.streamsPerAccount.set(accountId, n);
    };
  }

  /**
   * An event another node recorded, read from its answer to a history request: bounded like
   * one recorded here, with the other node's id (ids are per node), kept in no ring.
   */
  foreignEvent(id: number, deviceId: string, kind: InspectorEventKind, summary: string, time: Date, detail: Record<string, unknown> | undefined): InspectorEvent {
    const event: InspectorEvent = { id, deviceId, time, kind, summary: summary.length > this.maxSummary ? `${summary.slice(0, this.maxSummary)}…` : summary };
    if (detail !== undefined) event.detail = boundDetail(detail, this.detailLimits).detail;
    return event;
  }

  /** When this node's event `id` of the device happened, while its ring holds it. */
  timeOf(deviceId: string, id: number): Date | undefined {
    const ring = this.rings.get(deviceId)?.ring;
    if (ring === undefined) return undefined;
    for (const event of ring.newestFirst()) {
      if (event.id === id) return event.time;
      if (event.id < id) return undefined;
    }
    return undefined;
  }

  /** The device's retained events matching `options`, newest first. */
  list(deviceId: string, options: ListOptions = {}): InspectorEvent[] {
    const entry = this.rings.get(deviceId);
    if (entry === undefined) return [];
    entry.used = true;
    const ring = entry.ring;
    this.totalBytes += ring.dropOlderThan(this.now() - this.maxAgeMs);
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE);
    const kinds = options.kinds && options.kinds.length > 0 ? new Set<string>(options.kinds) : undefined;
    const search = options.search?.trim().toLowerCase() || undefined;
    const out: InspectorEvent[] = [];
    for (const event of ring.newestFirst()) {
      if (options.before !== undefined && !isBefore(event, options.before)) continue;
      if (options.since !== undefined && !isAfter(event, options.since)) continue;
      if (kinds && !kinds.has(event.kind)) continue;
      if (search && !matches(event, search)) continue;
      out.push(event);
      if (out.length === limit) break;
    }
    return out;
  }

  /**
   * Calls `listener` with the events recorded for the device from now on (in batches, on a
   * later tick), until the returned function is called. `onEnd` runs if the device is forgotten
   * (deleted) meanwhile.
   */
  subscribe(deviceId: string, listener: InspectorListener, onEnd?: () => void): () => void {
    const subscriber: Subscriber = { listener, onEnd, after: this.lastId };
    let set = this.subscribers.get(deviceId);
    if (set === undefined) {
      this.subscribers.set(deviceId, (set = new Set()));
      for (const observer of this.watchObservers) observer(deviceId, true);
    }
    set.add(subscriber);
    return () => {
      const current = this.subscribers.get(deviceId);
      if (current === undefined || !current.delete(subscriber)) return;
      if (current.size === 0) {
        this.subscribers.delete(deviceId);
        for (const observer of this.watchObservers) observer(deviceId, false);
      }
    };
  }

  /**
   * Drops everything about a deleted device and ends its live streams. Its persisted switch
   * goes with the device's own storage, so persistence is not called.
   */
  forget(deviceId: string): void {
    this.dropRing(deviceId);
    this.disabled.delete(deviceId);
    const subscribers = this.subscribers.get(deviceId);
    this.subscribers.delete(deviceId);
    this.remoteWatched.delete(deviceId);
    if (subscribers) for (const observer of this.watchObservers) observer(deviceId, false);
    for (const subscriber of subscribers ?? []) subscriber.onEnd?.();
  }

  /** Sizes, for metrics and tests. */
  stats(): { devices: number; bytes: number; watchedDevices: number; disabledDevices: number } {
    return { devices: this.rings.size, bytes: this.totalBytes, watchedDevices: this.subscribers.size, disabledDevices: this.disabled.size };
  }

  /** The device's ring, created if needed, marked as used. */
  private ringFor(deviceId: string): EventRing {
    const entry = this.rings.get(deviceId);
    if (entry !== undefined) {
      entry.used = true;
      return entry.ring;
    }
    // A new ring starts unused: it has to be used again to outlive the next sweep.
    const ring = new EventRing(this.maxEvents);
    this.rings.set(deviceId, { ring, used: false });
    return ring;
  }

  private overBudget(): boolean {
    return this.rings.size > this.maxDevices || this.totalBytes > this.maxTotalBytes;
  }

  /**
   * Drops rings until both bounds hold, never the ring just written: from the oldest end, a
   * used ring gets a second chance (flag cleared, moved to the end), an unused one goes.
   * Terminates: each ring is passed over at most once per call.
   */
  private evict(keep: string): void {
    if (!this.overBudget()) return;
    for (const [deviceId, entry] of this.rings) {
      if (!this.overBudget()) return;
      if (deviceId === keep) continue;
      if (entry.used) {
        entry.used = false;
        this.rings.delete(deviceId);
        this.rings.set(deviceId, entry);
      } else {
        this.dropRing(deviceId);
      }
    }
  }

  private dropRing(deviceId: string): void {
    const entry = this.rings.get(deviceId);
    if (entry === undefined) return;
    this.totalBytes -= entry.ring.bytes;
    this.rings.delete(deviceId);
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new SluiceError("INVALID_CONFIG", `inspector ${name} must be a positive integer, got ${value}`);
  return value;
}

const isBefore = (event: InspectorEvent, bound: number | Date): boolean =>
  typeof bound === "number" ? event.id < bound : event.time.getTime() < bound.getTime();

const isAfter = (event: InspectorEvent, bound: number | Date): boolean =>
  typeof bound === "number" ? event.id > bound : event.time.getTime() > bound.getTime();

function matches(event: InspectorEvent, needle: string): boolean {
  if (event.summary.toLowerCase().includes(needle)) return true;
  // Serialized per search rather than kept per event: searches are rare, recording is not.
  return event.detail !== undefined && JSON.stringify(event.detail).toLowerCase().includes(needle);
}
