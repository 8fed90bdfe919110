/**
 * The option readers the value and chart widgets add to display_read.ts (which reads a stored
 * `display` defensively): numbers that may come as text, `#rrggbb` colours, decimals.
 */

/** A finite number, or numeric text; otherwise the fallback. */
export function readNumber<F extends number | null>(value: unknown, fallback: F): number | F {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return fallback;
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
