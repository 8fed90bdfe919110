import { ChartRenderer } from "../chart/chart_renderer.js";
import type { RendererProps } from "../types.js";
import type { AreaOptions } from "./options.js";

export function AreaRenderer(props: RendererProps<AreaOptions>) {
  return <ChartRenderer {...props} style="area" />;
}
