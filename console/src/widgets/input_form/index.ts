import type { WidgetType } from "../types.js";
import { InputFormEditor } from "./editor.js";
import { defaults, parse, type InputFormOptions } from "./options.js";
import { FormRenderer } from "./renderer.js";

const inputForm: WidgetType<InputFormOptions> = {
  type: "input_form",
  order: 170,
  label: "Input form",
  description: "Fields that store records for the widget's device",
  sources: "one",
  size: { width: 4, height: 4 },
  defaults,
  parse,
  Editor: InputFormEditor,
  Renderer: FormRenderer,
};
export default inputForm;
