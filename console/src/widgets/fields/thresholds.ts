/**
 * Thresholds: a list of value → colour. A value takes the colour of the highest threshold it
 * reaches (value ≥ threshold); below them all it keeps the widget's base colour. The dial draws
 * them as bands, charts as horizontal lines, display and card colour their number with them.
 */
import { readColor, readNumber } from "./read.js";

export interface Threshold {
  value: number;
  color: string;
}

/** More would not fit an editor nor mean anything on a dial. */
export const MAX_THRESHOLDS = 20;

export function parseThresholds(value: unknown): Threshold[] {
  if (!Array.isArray(value)) return [];
  const out: Threshold[] = [];
  for (const item of value.slice(0, MAX_THRESHOLDS)) {
    if (typeof item !== "object" || item === null) continue;
    const fields = item as Record<string, unknown>;
    const at = readNumber(fields.value, null);
    if (at === null) continue;
    out.push({ value: at, color: readColor(fields.color, "#b91c1c") });
  }
  return out.sort((a, b) => a.value - b.value);
}

/** The colour `value` takes: the highest threshold it reaches, else `base` (any order: an editor's list is unsorted while typed). */
export function thresholdColor(value: number, thresholds: readonly Threshold[], base: string): string {
  let best: Threshold | undefined;
  for (const t of thresholds) if (value >= t.value && (!best || t.value >= best.value)) best = t;
  return best ? best.color : base;
}
