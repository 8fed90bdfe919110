/** TagoIO's "dial" widget: a gauge of a variable's last value. */
import type { WidgetType } from "../types.js";
import { DialEditor } from "./editor.js";
import { defaults, parse, type DialOptions } from "./options.js";
import { DialRenderer } from "./renderer.js";

const dial: WidgetType<DialOptions> = {
  type: "dial",
  order: 60,
  label: "Dial",
  description: "A gauge of a variable's last value between a minimum and a maximum, with coloured bands",
  sources: "one",
  size: { width: 3, height: 3 },
  defaults,
  parse,
  Editor: DialEditor,
  Renderer: DialRenderer,
};

export default dial;
