import { ChartRenderer } from "../chart/chart_renderer.js";
import type { RendererProps } from "../types.js";
import type { BarOptions } from "./options.js";

export function BarRenderer(props: RendererProps<BarOptions>) {
  return <ChartRenderer {...props} style="bar" />;
}
