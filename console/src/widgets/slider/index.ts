import type { WidgetType } from "../types.js";
import { SliderEditor } from "./editor.js";
import { defaults, parse, type SliderOptions } from "./options.js";
import { SliderRenderer } from "./renderer.js";

const slider: WidgetType<SliderOptions> = {
  type: "slider",
  order: 160,
  label: "Slider",
  description: "Picks a number between bounds, showing the last value; sends on release",
  sources: "one",
  size: { width: 4, height: 2 },
  defaults,
  parse,
  Editor: SliderEditor,
  Renderer: SliderRenderer,
};
export default slider;
