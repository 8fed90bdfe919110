import { ChartRenderer } from "../chart/chart_renderer.js";
import type { RendererProps } from "../types.js";
import type { LineOptions } from "./options.js";

export function LineRenderer(props: RendererProps<LineOptions>) {
  return <ChartRenderer {...props} style="line" />;
}
