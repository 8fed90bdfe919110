/**
 * "This client id just connected here": the control message that keeps client ids unique across
 * the cluster (docs/cluster.md, "One connection per client id"). Each node publishes one on its
 * namespace's connect subject (`connectSubject`) when a CONNECT succeeds; a node that holds an
 * older live connection with that client id in that namespace ends it with the takeover reason.
 *
 * JSON, versioned, and decoded as hostile input: anything may publish on the bus.
 *   {"v":1,"ns":<namespace>,"id":<client id>,"origin":<node instance>,"at":<stamp ms>}
 */
export const NOTICE_VERSION = 1;

export interface ConnectNotice {
  namespace: string;
  clientId: string;
  /** The sending node's instance id (node id and start nonce). */
  origin: string;
  /** The connection's stamp (`ConnectClock`); with `origin`, orders two connections of one client id. */
  at: number;
}

/** An MQTT client id is at most 65 535 bytes, a namespace and an origin much less: room for JSON escapes. */
export const MAX_NOTICE_BYTES = 256 * 1024;
const MAX_ORIGIN_CHARS = 255;
const MAX_FIELD_CHARS = 65_535;

export function encodeNotice(notice: ConnectNotice): Buffer {
  return Buffer.from(JSON.stringify({ v: NOTICE_VERSION, ns: notice.namespace, id: notice.clientId, origin: notice.origin, at: notice.at }), "utf8");
}

export type NoticeResult = { ok: true; notice: ConnectNotice } | { ok: false; reason: "malformed" | "version" };

export function decodeNotice(data: Uint8Array): NoticeResult {
  if (data.length === 0 || data.length > MAX_NOTICE_BYTES) return { ok: false, reason: "malformed" };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, reason: "malformed" };
  const o = value as Record<string, unknown>;
  if (typeof o.v !== "number") return { ok: false, reason: "malformed" };
  if (o.v !== NOTICE_VERSION) return { ok: false, reason: "version" };
  const { ns, id, origin, at } = o;
  if (typeof ns !== "string" || ns.length > MAX_FIELD_CHARS) return { ok: false, reason: "malformed" };
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_FIELD_CHARS) return { ok: false, reason: "malformed" };
  if (typeof origin !== "string" || origin.length === 0 || origin.length > MAX_ORIGIN_CHARS) return { ok: false, reason: "malformed" };
  if (typeof at !== "number" || !Number.isSafeInteger(at) || at < 0) return { ok: false, reason: "malformed" };
  return { ok: true, notice: { namespace: ns, clientId: id, origin, at } };
}

/** How far ahead of this node's clock a stamp may be and still move it (a hostile stamp must not push it forever). */
export const MAX_CLOCK_LEAD_MS = 60_000;

/**
 * Stamps connections so that one made after hearing of another always orders after it, whatever
 * the nodes' clocks say: the wall clock, but never at or below a stamp already seen (a hybrid
 * logical clock, in milliseconds).
 */
export class ConnectClock {
  private last = 0;

  constructor(private readonly now: () => number = Date.now) {}

  stamp(): number {
    this.last = Math.max(this.now(), this.last + 1);
    return this.last;
  }

  /** Returns false for a stamp too far ahead of this node's clock to believe. */
  observe(at: number): boolean {
    if (at > this.now() + MAX_CLOCK_LEAD_MS) return false;
    if (at > this.last) this.last = at;
    return true;
  }
}
