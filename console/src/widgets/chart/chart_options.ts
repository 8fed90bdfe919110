/**
 * The options of the chart types (line, area, bar): one shape, so the three share the module
 * and differ by `style` and their defaults. Kept in the widget's `display`.
 */
import { flag, record, text } from "../display_read.js";
import { readColor, readDecimals, readNumber } from "../fields/read.js";
import { parseThresholds, type Threshold } from "../fields/thresholds.js";

export type ChartStyle = "line" | "area" | "bar";

export interface SeriesStyle {
  /** Legend label; empty: the variable (and the device when several). */
  label: string;
  color: string;
}

export interface ChartOptions {
  unit: string;
  decimals: number | null;
  /** y scale bounds; null: from the data. */
  min: number | null;
  max: number | null;
  thresholds: Threshold[];
  /** The min–max band of each bucket behind its average. */
  band: boolean;
  /** Per series, by `device/variable` (SeriesStore's key). */
  series: Record<string, SeriesStyle>;
}

/**
 * Default series colours, by theme: darker on the light surface, lighter on the dark one, so
 * each keeps 3:1 against its background. A colour the user picked is used on both.
 */
export const PALETTE = {
  light: ["#2563eb", "#dc2626", "#047857", "#b45309", "#7c3aed", "#0e7490", "#be185d", "#4d7c0f"],
  dark: ["#60a5fa", "#f87171", "#34d399", "#fbbf24", "#a78bfa", "#22d3ee", "#f472b6", "#a3e635"],
};

export function chartDefaults(style: ChartStyle): ChartOptions {
  return { unit: "", decimals: null, min: null, max: null, thresholds: [], band: style === "line", series: {} };
}

const MAX_SERIES_STYLES = 500;

export function parseChartOptions(style: ChartStyle, display: unknown): ChartOptions {
  const d = record(display);
  const defaults = chartDefaults(style);
  const series: Record<string, SeriesStyle> = {};
  for (const [key, value] of Object.entries(record(d.series)).slice(0, MAX_SERIES_STYLES)) {
    const s = record(value);
    series[key] = { label: text(s.label, "", 100), color: readColor(s.color, "") };
  }
  return {
    unit: text(d.unit, defaults.unit, 20),
    decimals: readDecimals(d.decimals, defaults.decimals),
    min: readNumber(d.min, null),
    max: readNumber(d.max, null),
    thresholds: parseThresholds(d.thresholds),
    band: flag(d.band, defaults.band),
    series,
  };
}
