import type { WidgetType } from "../types.js";
import { PushButtonEditor } from "./editor.js";
import { defaults, parse, type PushButtonOptions } from "./options.js";
import { PushButtonRenderer } from "./renderer.js";

const pushButton: WidgetType<PushButtonOptions> = {
  type: "push_button",
  order: 140,
  label: "Push button",
  description: "Sends a set value: an MQTT message to the device, or a record",
  sources: "one",
  size: { width: 3, height: 2 },
  defaults,
  parse,
  Editor: PushButtonEditor,
  Renderer: PushButtonRenderer,
};
export default pushButton;
