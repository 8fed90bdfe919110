import { ChartEditor } from "../chart/chart_editor.js";
import type { EditorProps } from "../types.js";
import type { LineOptions } from "./options.js";

export function LineEditor(props: EditorProps<LineOptions>) {
  return <ChartEditor {...props} style="line" />;
}
