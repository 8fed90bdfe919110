import { ChartEditor } from "../chart/chart_editor.js";
import type { EditorProps } from "../types.js";
import type { AreaOptions } from "./options.js";

export function AreaEditor(props: EditorProps<AreaOptions>) {
  return <ChartEditor {...props} style="area" />;
}
