/**
 * The colour a single value takes (thresholds, else the widget's own, else the theme's accent),
 * as a CSS value. Widgets use it for marks (a stripe, a dial's arc), never for text: a colour
 * picked on a light theme may not read on the dark one, and text must keep its contrast.
 */
import { thresholdColor, type Threshold } from "../fields/thresholds.js";

export function valueColor(value: unknown, thresholds: readonly Threshold[], own: string): string {
  const base = own || "var(--accent)";
  return typeof value === "number" ? thresholdColor(value, thresholds, base) : base;
}
