import type { EventHub } from "../events/hub.js";
import type { Inspector } from "../inspector/inspector.js";
import { isInspectorEventKind } from "../inspector/kinds.js";
import type { InspectorEvent } from "../inspector/types.js";
import type { Logger } from "../observability/logger.js";
import { decodeBusJson, encodeBusJson, idField, MAX_BUS_JSON_BYTES, textField } from "./bus_json.js";
import type { ControlBus } from "./control.js";
import type { BusSubscription } from "./interest.js";
import { escapeLevel, SUBJECT_PREFIX } from "./subjects.js";

/**
 * `/events` (SSE), the console and the Live Inspector see what happens on every node
 * (docs/cluster.md, "Events from every node"). Only what someone listens to travels:
 *
 * - Each node announces the channels (`account`, `channel`) it has SSE listeners for and the
 *   devices it has live inspector streams for, on `sluice.x.interest`: at once when the first
 *   listener comes or the last goes, and all of them again every `refreshMs` (entries not
 *   refreshed within three periods are forgotten: a node that died stops being served).
 * - A node publishing an event on a channel another node listens to (or recording an inspector
 *   event of a device another node follows) sends it on the account's subject
 *   `sluice.ev.<account>` (the device's `sluice.in.<device>`), which only the nodes with
 *   listeners there subscribe: NATS delivers it to them alone.
 * - The hub and the inspector treat remote listeners as their own for `listening` / `watching`,
 *   so the parts that build events only when heard (dashboards' live channel, the inspector's
 *   per-message events) build them for a remote listener too.
 */
export const INTEREST_SUBJECT = `${SUBJECT_PREFIX}.x.interest`;

export function eventSubject(accountId: string): string {
  return `${SUBJECT_PREFIX}.ev.${escapeLevel(accountId)}`;
}

export function inspectorSubject(deviceId: string): string {
  return `${SUBJECT_PREFIX}.in.${escapeLevel(deviceId)}`;
}

export interface EventRelayOptions {
  bus: ControlBus;
  hub: EventHub;
  inspector: Inspector;
  /** How often every listened channel and followed device is announced again (`cluster.interestRefreshMs`). */
  refreshMs: number;
  logger: Logger;
  now?: () => number;
}

/** Entries one interest message carries at most (well under the bus message bound). */
const ENTRIES_PER_MESSAGE = 1000;
const MAX_CHANNEL_CHARS = 256;
/**
 * Other nodes' listened channels and followed devices held at most: a bound against whoever can
 * publish on the bus, far above what real nodes announce (each stream is one entry).
 */
const MAX_REMOTE_ENTRIES = 200_000;
const MAX_SUMMARY_CHARS = 4096;

type Entry = { c: [string, string] } | { d: string };

export class EventRelay {
  /** Remote interest: key → origin → when it is forgotten unless refreshed. */
  private readonly remote = new Map<string, Map<string, number>>();
  /** Local channels per account, and the account subject's subscription while any is listened. */
  private readonly accounts = new Map<string, { channels: number; sub: BusSubscription }>();
  private readonly devices = new Map<string, BusSubscription>();
  private readonly off: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private interestSub: BusSubscription | undefined;
  private greeted = false;
  private readonly now: () => number;

  constructor(private readonly options: EventRelayOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    const { bus, hub, inspector } = this.options;
    this.interestSub = bus.listen(INTEREST_SUBJECT, (_subject, data) => this.interest(data));
    hub.attachRelay({ forward: (accountId, channel, payload) => this.forwardEvent(accountId, channel, payload) });
    inspector.attachRelay({ forward: (event) => this.forwardInspector(event) });
    this.off.push(hub.onLocalInterest((accountId, channel, listening) => this.localChannel(accountId, channel, listening)));
    this.off.push(inspector.onLocalWatch((deviceId, watching) => this.localDevice(deviceId, watching)));
    this.timer = setInterval(() => this.refresh(), this.options.refreshMs);
    this.timer.unref();
    this.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
    // The other nodes stop serving this one now rather than when its entries time out.
    const entries = this.localEntries();
    for (let i = 0; i < entries.length; i += ENTRIES_PER_MESSAGE) this.announce("gone", entries.slice(i, i + ENTRIES_PER_MESSAGE));
    for (const off of this.off.splice(0)) off();
    this.options.hub.attachRelay(undefined);
    this.options.inspector.attachRelay(undefined);
    this.interestSub?.unsubscribe();
    for (const { sub } of this.accounts.values()) sub.unsubscribe();
    for (const sub of this.devices.values()) sub.unsubscribe();
    this.accounts.clear();
    this.devices.clear();
  }

  private localChannel(accountId: string, channel: string, listening: boolean): void {
    const held = this.accounts.get(accountId);
    if (listening) {
      if (held) held.channels++;
      else this.accounts.set(accountId, { channels: 1, sub: this.options.bus.listen(eventSubject(accountId), (s, d) => this.heardEvent(s, d)) });
    } else if (held && --held.channels === 0) {
      held.sub.unsubscribe();
      this.accounts.delete(accountId);
    }
    this.announce(listening ? "alive" : "gone", [{ c: [accountId, channel] }]);
  }

  private localDevice(deviceId: string, watching: boolean): void {
    const held = this.devices.get(deviceId);
    if (watching && !held) this.devices.set(deviceId, this.options.bus.listen(inspectorSubject(deviceId), (s, d) => this.heardInspector(s, d)));
    if (!watching && held) {
      held.unsubscribe();
      this.devices.delete(deviceId);
    }
    this.announce(watching ? "alive" : "gone", [{ d: deviceId }]);
  }

  /** Every local entry again (and the forgetting of what others stopped refreshing). */
  private refresh(): void {
    this.expire();
    // A node just up asks the others for theirs rather than waiting a period for them.
    const hello = !this.greeted;
    const sent = this.announceAll(hello);
    if (hello) this.greeted = sent;
  }

  /** Sends every local entry as alive; false when the first message could not be sent. */
  private announceAll(hello: boolean): boolean {
    const entries = this.localEntries();
    // Nothing listened here: nothing to keep alive elsewhere, and the bus stays quiet.
    if (entries.length === 0 && !hello) return true;
    let first = true;
    for (let i = 0; i === 0 || i < entries.length; i += ENTRIES_PER_MESSAGE) {
      const sent = this.send(INTEREST_SUBJECT, "interest", { op: "alive", ...(hello && i === 0 && { hello: true }), entries: entries.slice(i, i + ENTRIES_PER_MESSAGE) });
      if (i === 0) first = sent;
    }
    return first;
  }

  private localEntries(): Entry[] {
    return [
      ...this.options.hub.localChannels().map(({ accountId, channel }): Entry => ({ c: [accountId, channel] })),
      ...this.options.inspector.locallyWatched().map((d): Entry => ({ d })),
    ];
  }

  private announce(op: "alive" | "gone", entries: Entry[]): void {
    this.send(INTEREST_SUBJECT, "interest", { op, entries });
  }

  private send(subject: string, kind: string, body: Record<string, unknown>): boolean {
    const { bus } = this.options;
    const data = encodeBusJson(bus.origin, kind, body);
    if (data.length > MAX_BUS_JSON_BYTES) {
      bus.stats.drop("too_large");
      return false;
    }
    if (bus.send(subject, data)) return true;
    bus.stats.drop("unavailable");
    return false;
  }

  private forwardEvent(accountId: string, channel: string, payload: unknown): void {
    this.send(eventSubject(accountId), "event", { accountId, channel, payload });
  }

  private forwardInspector(event: InspectorEvent): void {
    this.send(inspectorSubject(event.deviceId), "inspector", {
      deviceId: event.deviceId, event: event.kind, summary: event.summary,
      time: event.time.getTime(), ...(event.detail !== undefined && { detail: event.detail }),
    });
  }

  private interest(data: Uint8Array): void {
    const { bus } = this.options;
    bus.stats.controls++;
    const decoded = decodeBusJson(data);
    if (!decoded.ok) return bus.stats.drop(decoded.reason);
    if (decoded.origin === bus.origin) return bus.stats.drop("own");
    const o = decoded.body;
    if (decoded.kind !== "interest" || (o.op !== "alive" && o.op !== "gone") || !Array.isArray(o.entries) || o.entries.length > ENTRIES_PER_MESSAGE) {
      return bus.stats.drop("malformed");
    }
    const keys: { key: string; apply: (on: boolean) => void }[] = [];
    for (const e of o.entries as unknown[]) {
      const entry = this.entryOf(e);
      if (!entry) return bus.stats.drop("malformed");
      keys.push(entry);
    }
    const expires = this.now() + 3 * this.options.refreshMs;
    for (const { key, apply } of keys) {
      let origins = this.remote.get(key);
      if (o.op === "alive") {
        if (!origins && this.remote.size >= MAX_REMOTE_ENTRIES) {
          bus.stats.drop("too_large");
          continue;
        }
        if (!origins) {
          this.remote.set(key, (origins = new Map()));
          apply(true);
        }
        origins.set(decoded.origin, expires);
      } else if (origins?.delete(decoded.origin) && origins.size === 0) {
        this.remote.delete(key);
        apply(false);
      }
    }
    // A node that just came up: it gets this node's entries now.
    if (o.hello === true) this.announceAll(false);
  }

  private entryOf(e: unknown): { key: string; apply: (on: boolean) => void } | undefined {
    if (typeof e !== "object" || e === null) return undefined;
    const r = e as Record<string, unknown>;
    if (Array.isArray(r.c) && r.c.length === 2) {
      const [accountId, channel] = r.c as unknown[];
      if (typeof accountId !== "string" || typeof channel !== "string" || accountId.length === 0 || accountId.length > 256 || channel.length === 0 || channel.length > MAX_CHANNEL_CHARS) return undefined;
      return { key: `c\n${accountId}\n${channel}`, apply: (on) => this.options.hub.remoteInterest(accountId, channel, on) };
    }
    const deviceId = idField(r, "d");
    if (deviceId) return { key: `d\n${deviceId}`, apply: (on) => this.options.inspector.remoteWatch(deviceId, on) };
    return undefined;
  }

  private expire(): void {
    const now = this.now();
    for (const [key, origins] of this.remote) {
      for (const [origin, expiresAt] of origins) if (expiresAt <= now) origins.delete(origin);
      if (origins.size > 0) continue;
      this.remote.delete(key);
      const [type, a, b] = key.split("\n") as [string, string, string?];
      if (type === "c") this.options.hub.remoteInterest(a, b!, false);
      else this.options.inspector.remoteWatch(a, false);
    }
  }

  private heardEvent(subject: string, data: Uint8Array): void {
    const { bus } = this.options;
    const decoded = decodeBusJson(data);
    if (!decoded.ok) return bus.stats.drop(decoded.reason);
    if (decoded.origin === bus.origin) return bus.stats.drop("own");
    const o = decoded.body;
    const accountId = idField(o, "accountId");
    const channel = textField(o, "channel", MAX_CHANNEL_CHARS);
    if (decoded.kind !== "event" || !accountId || !channel || !("payload" in o)) return bus.stats.drop("malformed");
    // An event is heard only on its own account's subject: it cannot be slipped into another account's streams.
    if (eventSubject(accountId) !== subject) return bus.stats.drop("subject_mismatch");
    bus.stats.relayed++;
    this.options.hub.deliver(accountId, channel, o.payload);
  }

  private heardInspector(subject: string, data: Uint8Array): void {
    const { bus } = this.options;
    const decoded = decodeBusJson(data);
    if (!decoded.ok) return bus.stats.drop(decoded.reason);
    if (decoded.origin === bus.origin) return bus.stats.drop("own");
    const o = decoded.body;
    const deviceId = idField(o, "deviceId");
    const kind = textField(o, "event", 32);
    const summary = textField(o, "summary", MAX_SUMMARY_CHARS);
    const detail = o.detail;
    if (decoded.kind !== "inspector" || !deviceId || !kind || !isInspectorEventKind(kind) || summary === undefined ||
      typeof o.time !== "number" || !Number.isFinite(o.time) ||
      (detail !== undefined && (typeof detail !== "object" || detail === null || Array.isArray(detail)))) {
      return bus.stats.drop("malformed");
    }
    if (inspectorSubject(deviceId) !== subject) return bus.stats.drop("subject_mismatch");
    bus.stats.relayed++;
    // The detail is bounded again by the inspector, as any event's: the bus's word is not taken for it.
    this.options.inspector.deliver(deviceId, kind, summary, new Date(o.time), detail as Record<string, unknown> | undefined);
  }
}
