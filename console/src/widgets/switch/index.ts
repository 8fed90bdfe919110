import type { WidgetType } from "../types.js";
import { SwitchEditor } from "./editor.js";
import { defaults, parse, type SwitchOptions } from "./options.js";
import { SwitchRenderer } from "./renderer.js";

const switchType: WidgetType<SwitchOptions> = {
  type: "switch",
  order: 150,
  label: "Switch",
  description: "On and off, showing the device's last state; sends true or false",
  sources: "one",
  size: { width: 3, height: 2 },
  defaults,
  parse,
  Editor: SwitchEditor,
  Renderer: SwitchRenderer,
};
export default switchType;
