/** TagoIO's "line" chart widget. */
import type { WidgetType } from "../types.js";
import { LineEditor } from "./editor.js";
import { defaults, parse, type LineOptions } from "./options.js";
import { LineRenderer } from "./renderer.js";

const line: WidgetType<LineOptions> = {
  type: "line",
  order: 10,
  label: "Line chart",
  description: "Variables over time as lines, with each bucket's min–max band",
  sources: "many",
  size: { width: 6, height: 4 },
  defaults,
  parse,
  Editor: LineEditor,
  Renderer: LineRenderer,
};

export default line;
