import type { WidgetType } from "../types.js";
import { NoteEditor } from "./editor.js";
import { defaults, parse, type NoteOptions } from "./options.js";
import { NoteRenderer } from "./renderer.js";

const note: WidgetType<NoteOptions> = {
  type: "note",
  order: 130,
  label: "Note",
  description: "Text written in Markdown",
  sources: "none",
  size: { width: 4, height: 3 },
  defaults,
  parse,
  Editor: NoteEditor,
  Renderer: NoteRenderer,
};
export default note;
