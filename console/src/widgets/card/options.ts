/** The card's options: a caption, the last value with unit and decimals, colours by thresholds, its trend and age. */
import { flag, record, text } from "../display_read.js";
import { readColor, readDecimals } from "../fields/read.js";
import { parseThresholds, type Threshold } from "../fields/thresholds.js";

export interface CardOptions {
  /** Above the value; empty: the variable's name. */
  caption: string;
  unit: string;
  decimals: number | null;
  thresholds: Threshold[];
  /** Below every threshold; empty: the theme's accent. */
  color: string;
  /** ▲/▼ and the change since the value before. */
  showTrend: boolean;
  showTime: boolean;
}

export const defaults = (): CardOptions => ({ caption: "", unit: "", decimals: null, thresholds: [], color: "", showTrend: true, showTime: true });

export function parse(display: unknown): CardOptions {
  const d = record(display);
  const base = defaults();
  return {
    caption: text(d.caption, base.caption, 100),
    unit: text(d.unit, base.unit, 20),
    decimals: readDecimals(d.decimals, base.decimals),
    thresholds: parseThresholds(d.thresholds),
    color: readColor(d.color, base.color),
    showTrend: flag(d.showTrend, base.showTrend),
    showTime: flag(d.showTime, base.showTime),
  };
}
