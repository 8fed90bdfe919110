/** TagoIO's "area" chart widget. */
import type { WidgetType } from "../types.js";
import { AreaEditor } from "./editor.js";
import { defaults, parse, type AreaOptions } from "./options.js";
import { AreaRenderer } from "./renderer.js";

const area: WidgetType<AreaOptions> = {
  type: "area",
  order: 20,
  label: "Area chart",
  description: "Variables over time, the area under each line filled",
  sources: "many",
  size: { width: 6, height: 4 },
  defaults,
  parse,
  Editor: AreaEditor,
  Renderer: AreaRenderer,
};

export default area;
