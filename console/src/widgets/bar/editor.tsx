import { ChartEditor } from "../chart/chart_editor.js";
import type { EditorProps } from "../types.js";
import type { BarOptions } from "./options.js";

export function BarEditor(props: EditorProps<BarOptions>) {
  return <ChartEditor {...props} style="bar" />;
}
