/** TagoIO's "bar" chart widget. */
import type { WidgetType } from "../types.js";
import { BarEditor } from "./editor.js";
import { defaults, parse, type BarOptions } from "./options.js";
import { BarRenderer } from "./renderer.js";

const bar: WidgetType<BarOptions> = {
  type: "bar",
  order: 30,
  label: "Bar chart",
  description: "Variables over time as bars, one per time bucket",
  sources: "many",
  size: { width: 6, height: 4 },
  defaults,
  parse,
  Editor: BarEditor,
  Renderer: BarRenderer,
};

export default bar;
