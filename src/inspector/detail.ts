import { isUtf8 } from "node:buffer";

/**
 * Bounds what one inspector event may hold, so that a ring's memory is its event count times a
 * known maximum however large the payloads and records passing through are. Callers hand over
 * whatever they have (a Buffer payload, an array of 8 000 records, an Error) and get back a
 * plain JSON-ready object: previews instead of payloads, the first items of long arrays, the
 * first characters of long strings, and about `maxBytes` of JSON in all (approximately: the
 * size is counted while walking instead of by serializing, to keep recording cheap, and the
 * value that crosses the budget is kept whole: the bound is `maxBytes` plus one preview).
 */
export interface DetailLimits {
  /** Approximate JSON size of a whole detail object. */
  maxBytes: number;
  /** Characters kept of a string; bytes kept of a binary payload. */
  maxString: number;
  /** Items kept of an array. */
  maxItems: number;
  /** Nesting kept; deeper values become a placeholder (this also stops cycles). */
  maxDepth: number;
}

export const DEFAULT_DETAIL_LIMITS: DetailLimits = { maxBytes: 1024, maxString: 256, maxItems: 20, maxDepth: 4 };

/** Marks where something was cut, so a reader knows the inspector shows less than there was. */
export const TRUNCATED = "…";

export interface PayloadPreview {
  /** The payload's full size. */
  bytes: number;
  /** The first bytes as text, when they are printable UTF-8... */
  text?: string;
  /** ...else as hex. */
  hex?: string;
  truncated: boolean;
}

/** A payload's first `max` bytes, as text when it reads as text, else hex. */
export function payloadPreview(payload: Uint8Array, max = DEFAULT_DETAIL_LIMITS.maxString): PayloadPreview {
  const truncated = payload.length > max;
  const bytes =
    !truncated && Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.length, max)); // a view, not a copy
  const head = truncated ? withoutPartialCharacter(bytes) : bytes;
  if (!hasControlBytes(head) && isUtf8(head)) return { bytes: payload.length, text: head.toString("utf8"), truncated };
  return { bytes: payload.length, hex: bytes.toString("hex"), truncated };
}

/**
 * Tabs, newlines and carriage returns are fine in text payloads (JSON, CSV); other control
 * characters mean binary. In UTF-8 they are single bytes, so the bytes can be checked directly.
 */
function hasControlBytes(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return true;
  }
  return false;
}

/** Cutting a payload may split a multi-byte character: drop that partial tail so the rest is valid UTF-8. */
function withoutPartialCharacter(bytes: Buffer): Buffer {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.subarray(0, bytes.length - back) : bytes;
  }
  return bytes;
}

interface Walk {
  limits: DetailLimits;
  /** Approximate JSON characters emitted so far. */
  size: number;
  full: boolean;
}

/**
 * A bounded, JSON-ready copy of `detail` and its approximate JSON size. Keys are kept in order
 * until the budget is spent; a detail that was cut gets `truncated: true`.
 */
export function boundDetail(detail: Record<string, unknown>, limits: DetailLimits = DEFAULT_DETAIL_LIMITS): { detail: Record<string, unknown>; bytes: number } {
  const walk: Walk = { limits, size: 2, full: false };
  const out = boundObject(detail, 0, walk);
  if (walk.full) out.truncated = true;
  return { detail: out, bytes: walk.size };
}

function boundValue(value: unknown, depth: number, walk: Walk): unknown {
  switch (typeof value) {
    case "string":
      return boundString(value, walk);
    case "number":
      walk.size += 8;
      return Number.isFinite(value) ? value : null; // as JSON.stringify would, decided here so the size is right
    case "boolean":
      walk.size += 5;
      return value;
    case "bigint":
      return boundString(value.toString(), walk);
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) {
    walk.size += 4;
    return null;
  }
  if (value instanceof Uint8Array) {
    const preview = payloadPreview(value, walk.limits.maxString);
    walk.size += 40 + (preview.text?.length ?? preview.hex?.length ?? 0);
    return preview;
  }
  if (value instanceof Date) {
    walk.size += 26;
    return Number.isNaN(value.getTime()) ? null : value.toISOString();
  }
  if (depth >= walk.limits.maxDepth) {
    walk.size += 5;
    return TRUNCATED;
  }
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return boundObject({ name: value.name, message: value.message, ...(code === undefined ? {} : { code }) }, depth + 1, walk);
  }
  if (Array.isArray(value)) return boundArray(value, depth + 1, walk);
  // Maps, Sets and class instances show as their own enumerable fields, like JSON.stringify.
  return boundObject(value as Record<string, unknown>, depth + 1, walk);
}

function boundString(value: string, walk: Walk): string {
  const max = walk.limits.maxString;
  const kept = value.length > max ? `${value.slice(0, max)}${TRUNCATED}(${value.length} chars)` : value;
  walk.size += kept.length + 2;
  return kept;
}

function boundArray(values: readonly unknown[], depth: number, walk: Walk): unknown[] {
  const out: unknown[] = [];
  walk.size += 2;
  const max = Math.min(values.length, walk.limits.maxItems);
  for (let i = 0; i < max; i++) {
    if (walk.size >= walk.limits.maxBytes) {
      walk.full = true;
      break;
    }
    const item = boundValue(values[i], depth, walk);
    out.push(item === undefined ? null : item);
    walk.size += 1;
  }
  if (out.length < values.length) {
    const marker = `${TRUNCATED}(${values.length} items)`;
    out.push(marker);
    walk.size += marker.length + 2;
  }
  return out;
}

function boundObject(value: Record<string, unknown>, depth: number, walk: Walk): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  walk.size += 2;
  for (const key of Object.keys(value)) {
    if (walk.size >= walk.limits.maxBytes) {
      walk.full = true;
      break;
    }
    const item = boundValue(value[key], depth, walk);
    if (item === undefined) continue;
    // A parsed device payload may carry an own "__proto__" key; plain assignment would make it the prototype.
    if (key === "__proto__") Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    else out[key] = item;
    walk.size += key.length + 4;
  }
  return out;
}
