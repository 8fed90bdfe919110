/** TagoIO's "card" widget: a variable's last value under a caption, with its trend and age. */
import type { WidgetType } from "../types.js";
import { CardEditor } from "./editor.js";
import { defaults, parse, type CardOptions } from "./options.js";
import { CardRenderer } from "./renderer.js";

const card: WidgetType<CardOptions> = {
  type: "card",
  order: 50,
  label: "Card",
  description: "A variable's last value under a caption, with its change and age",
  sources: "one",
  size: { width: 3, height: 2 },
  defaults,
  parse,
  Editor: CardEditor,
  Renderer: CardRenderer,
};

export default card;
