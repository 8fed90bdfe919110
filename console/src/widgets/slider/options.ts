import { finite, record, text } from "../display_read.js";
import { defaultTarget, parseTarget, type ControlTarget } from "../controls/target.js";

export interface SliderOptions extends ControlTarget {
  min: number;
  max: number;
  step: number;
  unit: string;
}

export function defaults(): SliderOptions {
  return { ...defaultTarget(), min: 0, max: 100, step: 1, unit: "" };
}

export function parse(display: unknown): SliderOptions {
  const d = record(display);
  const min = finite(d.min, 0);
  const max = Math.max(min, finite(d.max, 100));
  const step = finite(d.step, 1);
  return { ...parseTarget(display), min, max, step: step > 0 ? step : 1, unit: text(d.unit, "", 20) };
}

/** A value kept within the slider's range and on its steps (the device's last value may be anywhere). */
export function clampToSlider(value: number, o: SliderOptions): number {
  const clamped = Math.min(o.max, Math.max(o.min, value));
  const steps = Math.round((clamped - o.min) / o.step);
  // Rounded to the step's decimals, so 0.1 steps do not send 0.30000000000000004.
  const decimals = (String(o.step).split(".")[1] ?? "").length;
  return Number(Math.min(o.max, o.min + steps * o.step).toFixed(decimals));
}
