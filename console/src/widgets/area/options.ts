/** The area chart's options: the chart module's, with the area style's defaults. */
import { chartDefaults, parseChartOptions, type ChartOptions } from "../chart/chart_options.js";

export type AreaOptions = ChartOptions;

export const defaults = (): AreaOptions => chartDefaults("area");
export const parse = (display: unknown): AreaOptions => parseChartOptions("area", display);
