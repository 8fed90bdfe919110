/**
 * The JSON envelope of the bus's control traffic (control.ts, event_relay.ts, shared rates):
 * `{"v":1,"origin":<node instance>,"kind":<string>, ...}`. Decoded as hostile input, like the
 * MQTT envelope (envelope.ts): anything may publish on NATS, so a message is size-bounded,
 * strict UTF-8, a JSON object of the known version with an origin; the fields of each kind are
 * checked by its reader. Nothing here throws.
 */
export const BUS_JSON_VERSION = 1;

/** Larger control messages are dropped unread (the largest real ones, interest refreshes, are cut well below). */
export const MAX_BUS_JSON_BYTES = 512 * 1024;
const MAX_ORIGIN_CHARS = 255;

export type BusJsonResult = { ok: true; origin: string; kind: string; body: Record<string, unknown> } | { ok: false; reason: "malformed" | "version" };

/** `body` must not use the envelope's own keys (`v`, `origin`, `kind`): they win. */
export function encodeBusJson(origin: string, kind: string, body: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ ...body, v: BUS_JSON_VERSION, origin, kind }), "utf8");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeBusJson(data: Uint8Array): BusJsonResult {
  if (data.length === 0 || data.length > MAX_BUS_JSON_BYTES) return { ok: false, reason: "malformed" };
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(data));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, reason: "malformed" };
  const o = value as Record<string, unknown>;
  if (typeof o.v !== "number") return { ok: false, reason: "malformed" };
  if (o.v !== BUS_JSON_VERSION) return { ok: false, reason: "version" };
  if (typeof o.origin !== "string" || o.origin.length === 0 || o.origin.length > MAX_ORIGIN_CHARS) return { ok: false, reason: "malformed" };
  if (typeof o.kind !== "string" || o.kind.length === 0 || o.kind.length > 64) return { ok: false, reason: "malformed" };
  return { ok: true, origin: o.origin, kind: o.kind, body: o };
}

/** Bounded field readers: undefined when the field is missing or not what it must be. */
export const MAX_ID_CHARS = 256;

export function idField(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === "string" && v.length > 0 && v.length <= MAX_ID_CHARS ? v : undefined;
}

export function textField(o: Record<string, unknown>, key: string, max = 1024): string | undefined {
  const v = o[key];
  return typeof v === "string" && v.length <= max ? v : undefined;
}

/** A list of ids, at most `max` long; undefined when any element is not an id. */
export function idList(o: Record<string, unknown>, key: string, max = 100_000): string[] | undefined {
  const v = o[key];
  if (!Array.isArray(v) || v.length > max) return undefined;
  for (const e of v) if (typeof e !== "string" || e.length === 0 || e.length > MAX_ID_CHARS) return undefined;
  return v as string[];
}
