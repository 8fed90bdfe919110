/** The dial's options: its scale, colour bands by thresholds, the value's unit and decimals. */
import { record, text } from "../display_read.js";
import { readColor, readDecimals, readNumber } from "../fields/read.js";
import { parseThresholds, type Threshold } from "../fields/thresholds.js";

export interface DialOptions {
  min: number;
  max: number;
  unit: string;
  decimals: number | null;
  thresholds: Threshold[];
  /** The value's arc below every threshold; empty: the theme's accent. */
  color: string;
}

export const defaults = (): DialOptions => ({ min: 0, max: 100, unit: "", decimals: null, thresholds: [], color: "" });

export function parse(display: unknown): DialOptions {
  const d = record(display);
  const base = defaults();
  let min = readNumber(d.min, base.min);
  let max = readNumber(d.max, base.max);
  // A scale that cannot be drawn (a hand-made display) falls back to the default one.
  if (!(min < max)) [min, max] = [base.min, base.max];
  return {
    min,
    max,
    unit: text(d.unit, base.unit, 20),
    decimals: readDecimals(d.decimals, base.decimals),
    thresholds: parseThresholds(d.thresholds),
    color: readColor(d.color, base.color),
  };
}
