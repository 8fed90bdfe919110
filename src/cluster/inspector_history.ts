import type { Inspector, ListOptions } from "../inspector/inspector.js";
import { isInspectorEventKind } from "../inspector/kinds.js";
import type { InspectorEvent, InspectorEventKind } from "../inspector/types.js";
import type { Logger } from "../observability/logger.js";
import { decodeBusJson, encodeBusJson, idField, MAX_BUS_JSON_BYTES, textField } from "./bus_json.js";
import type { ControlBus } from "./control.js";
import type { BusSubscription } from "./interest.js";
import { escapeLevel, SUBJECT_PREFIX } from "./subjects.js";

/**
 * A device's inspector history from every node (docs/cluster.md, "Events from every node"):
 * the node answering `GET /device/:id/inspector` (or opening a stream's backlog) asks the others
 * on `sluice.x.inspector.history` for the events they recorded of the device, collects answers
 * for `waitMs`, and merges them with its own ring. Each node answers only for a device of the
 * request's account, and only with events it recorded itself (not copies relayed to it live).
 */
export const HISTORY_SUBJECT = `${SUBJECT_PREFIX}.x.inspector.history`;
/** Answers go to the asking node's own subject under this prefix; a request naming any other is dropped. */
export const HISTORY_REPLY_PREFIX = `${SUBJECT_PREFIX}.x.inspector.reply`;

/** The identity check an answer needs: throws (NOT_FOUND) when the device is not the account's. */
export interface HistoryIdentity {
  getDevice(accountId: string, deviceId: string): Promise<unknown>;
}

export interface InspectorHistoryOptions {
  bus: ControlBus;
  inspector: Inspector;
  identity: HistoryIdentity;
  /** How long answers are collected (`cluster.historyWaitMs`). */
  waitMs: number;
  /** An answer's encoded size at most; past it its oldest events are left out (`cluster.historyMaxReplyBytes`). */
  maxReplyBytes: number;
  logger: Logger;
}

/** Answers held per request at most: a bound against whoever can publish on the bus, far above a real cluster's size. */
const MAX_ANSWERS = 64;
const MAX_SUMMARY_CHARS = 4096;
const MAX_SEARCH_CHARS = 256;
const MAX_LIMIT = 500;
const REPLY_SUBJECT = new RegExp(`^${HISTORY_REPLY_PREFIX.replaceAll(".", "\\.")}\\.[A-Za-z0-9_=-]{1,300}$`);

interface Pending {
  deviceId: string;
  events: InspectorEvent[];
  answers: number;
}

export class InspectorHistory {
  private readonly subs: BusSubscription[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly replySubject: string;
  private nextId = 0;

  constructor(private readonly options: InspectorHistoryOptions) {
    this.replySubject = `${HISTORY_REPLY_PREFIX}.${escapeLevel(options.bus.origin)}`;
  }

  start(): void {
    const { bus } = this.options;
    this.subs.push(bus.listen(HISTORY_SUBJECT, (_s, data) => void this.answer(data)));
    this.subs.push(bus.listen(this.replySubject, (_s, data) => this.heardAnswer(data)));
  }

  stop(): void {
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    this.pending.clear();
  }

  /**
   * The device's events matching `options` recorded on other nodes, newest first, as the nodes
   * answering within `waitMs` hold them. Bounds given as this node's event ids are read as that
   * event's time (ids are per node); one this node no longer holds asks no one.
   */
  async remote(accountId: string, deviceId: string, options: ListOptions): Promise<InspectorEvent[]> {
    const before = this.timeBound(deviceId, options.before);
    const since = this.timeBound(deviceId, options.since);
    if (before === null || since === null) return [];
    const id = ++this.nextId;
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50), 1), MAX_LIMIT);
    const entry: Pending = { deviceId, events: [], answers: 0 };
    this.pending.set(id, entry);
    const sent = this.send(HISTORY_SUBJECT, "history_request", {
      rid: id, reply: this.replySubject, accountId, deviceId, limit,
      ...(options.kinds && options.kinds.length > 0 && { kinds: options.kinds }),
      ...(options.search && { search: options.search.slice(0, MAX_SEARCH_CHARS) }),
      ...(before !== undefined && { before }),
      ...(since !== undefined && { since }),
    });
    if (sent) await new Promise<void>((resolve) => setTimeout(resolve, this.options.waitMs).unref());
    this.pending.delete(id);
    return entry.events.sort((x, y) => y.time.getTime() - x.time.getTime());
  }

  /** undefined: no bound; null: an id bound this node cannot place in time. */
  private timeBound(deviceId: string, bound: number | Date | undefined): number | undefined | null {
    if (bound === undefined) return undefined;
    if (bound instanceof Date) return bound.getTime();
    return this.options.inspector.timeOf(deviceId, bound)?.getTime() ?? null;
  }

  private async answer(data: Uint8Array): Promise<void> {
    const { bus, inspector } = this.options;
    bus.stats.controls++;
    const decoded = decodeBusJson(data);
    if (!decoded.ok) return bus.stats.drop(decoded.reason);
    if (decoded.origin === bus.origin) return bus.stats.drop("own");
    const o = decoded.body;
    const accountId = idField(o, "accountId");
    const deviceId = idField(o, "deviceId");
    const reply = textField(o, "reply", 512);
    // One level of escapeLevel's alphabet after the prefix: answers go nowhere else, wildcards included.
    const replyOk = reply !== undefined && REPLY_SUBJECT.test(reply);
    const kinds = o.kinds === undefined ? [] : Array.isArray(o.kinds) && o.kinds.length <= 32 && o.kinds.every((k) => typeof k === "string" && isInspectorEventKind(k)) ? (o.kinds as InspectorEventKind[]) : undefined;
    const search = o.search === undefined ? "" : textField(o, "search", MAX_SEARCH_CHARS);
    if (decoded.kind !== "history_request" || !accountId || !deviceId || !reply || !replyOk ||
      !Number.isSafeInteger(o.rid) || !Number.isSafeInteger(o.limit) || (o.limit as number) < 1 || kinds === undefined || search === undefined ||
      !optionalTime(o.before) || !optionalTime(o.since)) {
      return bus.stats.drop("malformed");
    }
    const events = inspector.list(deviceId, {
      kinds, search, limit: Math.min(o.limit as number, MAX_LIMIT),
      ...(o.before !== undefined && { before: new Date(o.before as number) }),
      ...(o.since !== undefined && { since: new Date(o.since as number) }),
    }).filter((event) => !event.relayed);
    // Nothing recorded here: no answer (the asker waits its bounded time either way).
    if (events.length === 0) return;
    try {
      await this.options.identity.getDevice(accountId, deviceId);
    } catch {
      return; // not this account's device (or not known): nothing is said about it
    }
    let wire = events.map((event) => ({
      id: event.id, kind: event.kind, summary: event.summary, time: event.time.getTime(), ...(event.detail !== undefined && { detail: event.detail }),
    }));
    const body = (truncated: boolean) => encodeBusJson(bus.origin, "history", { rid: o.rid, deviceId, truncated, events: wire });
    let encoded = body(false);
    const max = Math.min(this.options.maxReplyBytes, MAX_BUS_JSON_BYTES);
    // Newest first: past the bound the oldest go, halving the rest until the answer fits.
    while (encoded.length > max && wire.length > 0) {
      wire = wire.slice(0, Math.floor(wire.length / 2));
      encoded = body(true);
    }
    if (!bus.send(reply, encoded)) bus.stats.drop("unavailable");
  }

  private heardAnswer(data: Uint8Array): void {
    const { bus } = this.options;
    bus.stats.controls++;
    const decoded = decodeBusJson(data);
    if (!decoded.ok) return bus.stats.drop(decoded.reason);
    const o = decoded.body;
    if (decoded.kind !== "history" || !Number.isSafeInteger(o.rid) || !Array.isArray(o.events) || o.events.length > MAX_LIMIT) return bus.stats.drop("malformed");
    const entry = this.pending.get(o.rid as number);
    // Late (after the wait) or for a request this node did not make.
    if (entry === undefined || idField(o, "deviceId") !== entry.deviceId) return bus.stats.drop("malformed");
    if (entry.answers >= MAX_ANSWERS) return bus.stats.drop("too_large");
    const events: InspectorEvent[] = [];
    for (const e of o.events as unknown[]) {
      const event = this.eventOf(entry.deviceId, e);
      if (event === undefined) return bus.stats.drop("malformed");
      events.push(event);
    }
    entry.answers++;
    bus.stats.relayed += events.length;
    for (const event of events) entry.events.push(event);
  }

  private eventOf(deviceId: string, e: unknown): InspectorEvent | undefined {
    if (typeof e !== "object" || e === null || Array.isArray(e)) return undefined;
    const r = e as Record<string, unknown>;
    const kind = textField(r, "kind", 32);
    const summary = textField(r, "summary", MAX_SUMMARY_CHARS);
    const detail = r.detail;
    if (!Number.isSafeInteger(r.id) || !kind || !isInspectorEventKind(kind) || summary === undefined || !optionalTime(r.time) || r.time === undefined ||
      (detail !== undefined && (typeof detail !== "object" || detail === null || Array.isArray(detail)))) {
      return undefined;
    }
    // Bounded again like an event recorded here: the bus's word is not taken for it.
    return this.options.inspector.foreignEvent(r.id as number, deviceId, kind, summary, new Date(r.time as number), detail as Record<string, unknown> | undefined);
  }

  private send(subject: string, kind: string, body: Record<string, unknown>): boolean {
    const { bus } = this.options;
    if (bus.send(subject, encodeBusJson(bus.origin, kind, body))) return true;
    bus.stats.drop("unavailable");
    return false;
  }
}

function optionalTime(v: unknown): boolean {
  return v === undefined || (typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= 8.64e15);
}

/**
 * This node's events (newest first) and other nodes' merged by time, newest first, at most
 * `limit`. A remote event this node also holds as a live-relayed copy (same time, kind and
 * summary) is kept once: the copy here, whose id this node's streams resume by.
 */
export function mergeHistory(local: readonly InspectorEvent[], remote: readonly InspectorEvent[], limit: number): InspectorEvent[] {
  if (remote.length === 0) return local.slice(0, limit);
  const copies = new Map<string, number>();
  for (const event of local) {
    if (!event.relayed) continue;
    const key = keyOf(event);
    copies.set(key, (copies.get(key) ?? 0) + 1);
  }
  const others: InspectorEvent[] = [];
  for (const event of remote) {
    const key = keyOf(event);
    const n = copies.get(key) ?? 0;
    if (n > 0) copies.set(key, n - 1);
    else others.push(event);
  }
  const out: InspectorEvent[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < local.length || j < others.length)) {
    if (j >= others.length || (i < local.length && local[i]!.time.getTime() >= others[j]!.time.getTime())) out.push(local[i++]!);
    else out.push(others[j++]!);
  }
  return out;
}

const keyOf = (event: InspectorEvent): string => `${event.time.getTime()}\n${event.kind}\n${event.summary}`;
