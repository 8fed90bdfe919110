import { oneOf, record, text } from "../display_read.js";
import { defaultTarget, parseTarget, type ControlTarget } from "../controls/target.js";

export const VALUE_TYPES = ["string", "number", "boolean"] as const;

export interface PushButtonOptions extends ControlTarget {
  /** The button's text. */
  text: string;
  /** The value sent, as typed; `value_type` says how it is sent. */
  value: string;
  value_type: (typeof VALUE_TYPES)[number];
}

export function defaults(): PushButtonOptions {
  return { ...defaultTarget(), text: "Send", value: "1", value_type: "number" };
}

export function parse(display: unknown): PushButtonOptions {
  const d = record(display);
  const base = defaults();
  return { ...parseTarget(display), text: text(d.text, base.text, 100), value: text(d.value, base.value, 1024), value_type: oneOf(d.value_type, VALUE_TYPES, base.value_type) };
}

/** The configured value as sent, or an error message when it is not of its type. */
export function buttonValue(o: PushButtonOptions): { value: string | number | boolean } | { error: string } {
  if (o.value_type === "string") return { value: o.value };
  if (o.value_type === "boolean") {
    if (o.value === "true" || o.value === "false") return { value: o.value === "true" };
    return { error: `The button's value "${o.value}" is not true or false: edit the widget.` };
  }
  const n = Number(o.value);
  if (o.value.trim() === "" || !Number.isFinite(n)) return { error: `The button's value "${o.value}" is not a number: edit the widget.` };
  return { value: n };
}
