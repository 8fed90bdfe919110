import type { WidgetType } from "../types.js";
import { TableEditor } from "./editor.js";
import { defaults, parse, type TableOptions } from "./options.js";
import { TableRenderer } from "./renderer.js";

const table: WidgetType<TableOptions> = {
  type: "table",
  order: 100,
  label: "Table",
  description: "Records as rows, a page at a time, newest first",
  sources: "many",
  size: { width: 6, height: 4 },
  defaults,
  parse,
  Editor: TableEditor,
  Renderer: TableRenderer,
};
export default table;
