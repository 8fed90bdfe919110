/** The line chart's options: the chart module's, with the line style's defaults. */
import { chartDefaults, parseChartOptions, type ChartOptions } from "../chart/chart_options.js";

export type LineOptions = ChartOptions;

export const defaults = (): LineOptions => chartDefaults("line");
export const parse = (display: unknown): LineOptions => parseChartOptions("line", display);
