/** TagoIO's "display" widget: the last value of a variable, big. */
import type { WidgetType } from "../types.js";
import { DisplayEditor } from "./editor.js";
import { defaults, parse, type DisplayOptions } from "./options.js";
import { DisplayRenderer } from "./renderer.js";

const display: WidgetType<DisplayOptions> = {
  type: "display",
  order: 40,
  label: "Display",
  description: "The last value of a variable as a big number, with its unit",
  sources: "one",
  size: { width: 3, height: 2 },
  defaults,
  parse,
  Editor: DisplayEditor,
  Renderer: DisplayRenderer,
};

export default display;
