/** The display's options: its last value as a big number, with unit, decimals and colours by thresholds. */
import { flag, record, text } from "../display_read.js";
import { readColor, readDecimals } from "../fields/read.js";
import { parseThresholds, type Threshold } from "../fields/thresholds.js";

export interface DisplayOptions {
  unit: string;
  decimals: number | null;
  thresholds: Threshold[];
  /** Below every threshold; empty: the theme's accent. */
  color: string;
  /** "3 min ago" under the value. */
  showTime: boolean;
}

export const defaults = (): DisplayOptions => ({ unit: "", decimals: null, thresholds: [], color: "", showTime: true });

export function parse(display: unknown): DisplayOptions {
  const d = record(display);
  const base = defaults();
  return {
    unit: text(d.unit, base.unit, 20),
    decimals: readDecimals(d.decimals, base.decimals),
    thresholds: parseThresholds(d.thresholds),
    color: readColor(d.color, base.color),
    showTime: flag(d.showTime, base.showTime),
  };
}
