/**
 * Defensive readers for a stored `display`: it may hold anything (the API keeps it as sent, an
 * imported file or TagoIO's own editor wrote it), so each option is read with a fallback.
 */

export function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A finite number, or numeric text; otherwise the fallback. */
export function readNumber<F extends number | null>(value: unknown, fallback: F): number | F {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return fallback;
}

export function readString(value: unknown, fallback: string, maxLength = 200): string {
  return typeof value === "string" ? value.slice(0, maxLength) : fallback;
}

export function readBoolean(value: unknown, fallback: boolean): boolean {
  return typeof value === "boolean" ? value : fallback;
}

const HEX_COLOR = /^#[0-9a-f]{6}$/i;

/** `#rrggbb` only: what `<input type="color">` gives, and safe to put in an SVG or canvas. */
export function readColor(value: unknown, fallback: string): string {
  return typeof value === "string" && HEX_COLOR.test(value) ? value.toLowerCase() : fallback;
}

export function isColor(value: string): boolean {
  return HEX_COLOR.test(value);
}

/** Decimals shown: null for "as the value comes" (at most 2 past the point), else 0–6. */
export function readDecimals(value: unknown, fallback: number | null): number | null {
  const n = readNumber(value, null);
  if (n === null) return value === null ? null : fallback;
  return Math.min(6, Math.max(0, Math.round(n)));
}
