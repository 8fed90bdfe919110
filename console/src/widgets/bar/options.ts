/** The bar chart's options: the chart module's, with the bar style's defaults. */
import { chartDefaults, parseChartOptions, type ChartOptions } from "../chart/chart_options.js";

export type BarOptions = ChartOptions;

export const defaults = (): BarOptions => chartDefaults("bar");
export const parse = (display: unknown): BarOptions => parseChartOptions("bar", display);
