import { record, text } from "../display_read.js";
import { defaultTarget, parseTarget, type ControlTarget } from "../controls/target.js";

export interface SwitchOptions extends ControlTarget {
  on_text: string;
  off_text: string;
}

export function defaults(): SwitchOptions {
  return { ...defaultTarget(), on_text: "On", off_text: "Off" };
}

export function parse(display: unknown): SwitchOptions {
  const d = record(display);
  return { ...parseTarget(display), on_text: text(d.on_text, "On", 50), off_text: text(d.off_text, "Off", 50) };
}

/** A stored value as a switch's state: true, 1, "true", "on", "1" are on; nothing stored is unknown. */
export function isOn(value: string | number | boolean | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  return ["true", "on", "1", "yes"].includes(value.trim().toLowerCase());
}
