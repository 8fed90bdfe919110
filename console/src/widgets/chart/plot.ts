/**
 * uPlot for the chart widgets: made once per series set and theme, then fed in place. Updates
 * (live records, the sliding range, a reload) only schedule a draw; at most one `setData` runs
 * per animation frame, whatever the rate of records, and the page's charts share each frame's
 * drawing budget (draw_queue.ts). Zoom is a drag across the plot, pan is
 * shift+drag or the wheel (while zoomed) or the arrow keys, reset is a double click, Escape or
 * the renderer's button; the legend under the plot shows the values under the cursor.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatNumber, formatValue } from "../fields/format.js";
import type { ChartOptions, ChartStyle } from "./chart_options.js";
import { cancelDraw, requestDraw } from "./draw_queue.js";
import type { SeriesStore } from "./series_store.js";

export interface PlotLook {
  style: ChartStyle;
  options: ChartOptions;
  /** Per series of the store, in order. */
  labels: string[];
  colors: string[];
  /** The theme's colours (read from its CSS variables by the caller). */
  text: string;
  muted: string;
  grid: string;
  font: string;
}

interface View {
  min: number;
  max: number;
}

/** `#rrggbb` with an alpha byte. */
function alpha(color: string, a: number): string {
  return `${color}${Math.round(a * 255)
    .toString(16)
    .padStart(2, "0")}`;
}

/** Dots on a line only when its values are few and far apart (a lone value would not show as a line at all). */
function sparse(u: uPlot, seriesIdx: number, i0: number, i1: number): boolean {
  const values = u.data[seriesIdx];
  if (!values) return false;
  const most = u.bbox.width / devicePixelRatio / 12;
  let n = 0;
  for (let i = i0; i <= i1; i++) if (values[i] !== null && values[i] !== undefined && ++n > most) return false;
  return true;
}

/** The index nearest `at` holding a value, within 50 buckets; `at` when none is. */
function nearestValue(values: (number | null)[] | undefined, at: number): number {
  if (!values || values[at] !== null) return at;
  for (let d = 1; d <= 50; d++) {
    if (values[at - d] !== null && values[at - d] !== undefined) return at - d;
    if (values[at + d] !== null && values[at + d] !== undefined) return at + d;
  }
  return at;
}

export class ChartPlot {
  private readonly u: uPlot;
  private view: View | null = null;
  private readonly drawable = { draw: () => this.flush() };
  /** The size given (plot and legend) and the legend's height the plot was fitted to. */
  private size = { width: 0, height: 0 };
  private sizedLegend = 0;
  private readonly slide: ReturnType<typeof setInterval> | undefined;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly host: HTMLElement,
    /** Where the legend goes (under the plot, outside uPlot's box, so its height is known before the plot's). */
    private readonly legendHost: HTMLElement,
    private store: SeriesStore,
    private readonly look: PlotLook,
    size: { width: number; height: number },
    /** Told when the view is zoomed or back to the whole range. */
    private readonly onZoom: (zoomed: boolean) => void,
  ) {
    this.u = new uPlot(this.config(size.width, size.height), this.data(), host);
    this.hideBandLegends();
    // The legend is drawn now: the plot takes the height it leaves.
    this.setSize(size.width, size.height);
    this.bindPan();
    store.onChange = () => this.schedule();
    // A sliding range moves even without records; one step per bucket (at least a second) is enough.
    if (store.live) this.slide = setInterval(() => this.schedule(), Math.max(1000, store.size));
    this.schedule();
  }

  /** A reload with the same series: the new data goes into the same plot. */
  setStore(store: SeriesStore): void {
    this.store.onChange = undefined;
    this.store = store;
    store.onChange = () => this.schedule();
    this.schedule();
  }

  setSize(width: number, height: number): void {
    this.size = { width, height };
    this.sizedLegend = this.legendHeight();
    this.u.setSize({ width, height: this.plotHeight(height) });
  }

  get zoomed(): boolean {
    return this.view !== null;
  }

  reset(): void {
    if (!this.view) return;
    this.view = null;
    this.onZoom(false);
    this.schedule();
  }

  /** Zooms around the middle of the view: factor < 1 in, > 1 out. */
  zoom(factor: number): void {
    const [min, max] = this.view ? [this.view.min, this.view.max] : this.range();
    const mid = (min + max) / 2;
    const half = ((max - min) * factor) / 2;
    this.zoomTo(mid - half, mid + half);
  }

  /** Moves the zoomed view by a share of its width (negative: back in time). */
  pan(share: number): void {
    if (!this.view) return;
    const shift = (this.view.max - this.view.min) * share;
    this.zoomTo(this.view.min + shift, this.view.max + shift);
  }

  destroy(): void {
    cancelDraw(this.drawable);
    clearInterval(this.slide);
    this.store.onChange = undefined;
    for (const off of this.cleanups) off();
    this.u.destroy();
  }

  private schedule(): void {
    requestDraw(this.drawable);
  }

  private flush(): void {
    if (this.store.live) this.store.trim(Date.now() - this.store.span);
    const [min, max] = this.view ? [this.view.min, this.view.max] : this.range();
    this.u.batch(() => {
      this.u.setData(this.data(), false);
      this.u.setScale("x", { min, max });
    });
    // With no cursor on the plot the legend shows the latest values: they just changed.
    // (uPlot types `idx` as a number; its own "no cursor" is null, which it takes here too.)
    if (this.u.cursor.idx === null || this.u.cursor.idx === undefined) this.u.setLegend({ idx: null as unknown as number });
    // Values (or names) in the legend may wrap it onto another line: the plot gives up that room.
    if (this.legendHeight() !== this.sizedLegend) this.setSize(this.size.width, this.size.height);
    this.host.dataset.points = String(this.store.points);
  }

  /** The whole range: fixed, or the last `span` ms when it slides. */
  private range(): [number, number] {
    if (!this.store.live) return [this.store.origin, this.store.end];
    const end = Math.max(Date.now(), this.store.end);
    return [end - this.store.span + 1, end];
  }

  private zoomTo(min: number, max: number): void {
    const [lo, hi] = this.range();
    const width = Math.max(max - min, 1000);
    if (width >= hi - lo) return this.reset();
    // Kept inside the range: panning stops at its edges.
    const start = Math.min(Math.max(min, lo), hi - width);
    this.view = { min: start, max: start + width };
    this.onZoom(true);
    this.schedule();
  }

  private data(): uPlot.AlignedData {
    return this.store.aligned(this.look.options.band && this.look.style !== "bar") as uPlot.AlignedData;
  }

  private config(width: number, height: number): uPlot.Options {
    const { style, options, labels, colors } = this.look;
    const band = options.band && style !== "bar";
    const format = (v: number | null | undefined) => (v === null || v === undefined ? "—" : formatValue(v, options.decimals, options.unit));
    // Under the cursor: the bucket's value; with no cursor on the plot, the latest value.
    const valueOf = (key: string) => (_u: uPlot, v: number | null, _series: number, idx: number | null) => format(idx === null ? this.store.latest.get(key)?.value : v);
    const value = (_u: uPlot, v: number | null) => format(v);
    const series: uPlot.Series[] = [
      {
        label: "Time",
        value: (_u, v: number | null, _s, idx: number | null) => (idx === null ? "latest" : v === null ? "—" : new Date(v).toLocaleString()),
      },
    ];
    const bands: uPlot.Band[] = [];
    labels.forEach((label, i) => {
      const color = colors[i]!;
      const main: uPlot.Series = { label, stroke: color, width: 1.5, spanGaps: style !== "bar", points: { show: sparse, size: 5, fill: color }, value: valueOf(this.store.series[i]!.key) };
      if (style === "area") main.fill = alpha(color, 0.18);
      if (style === "bar") {
        // Several series overlap in each bucket, see-through so none hides another.
        main.paths = uPlot.paths.bars!({ size: [0.9, Infinity, 1] });
        main.fill = alpha(color, labels.length > 1 ? 0.55 : 0.8);
        main.width = 1;
      }
      series.push(main);
      if (band) {
        const at = series.length - 1;
        const edge: uPlot.Series = { label: `${label} min–max`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false }, value };
        series.push({ ...edge, label: `${label} min` }, { ...edge, label: `${label} max` });
        bands.push({ series: [at + 2, at + 1], fill: alpha(color, 0.15) });
      }
    });
    const axis = { stroke: this.look.muted, font: this.look.font, labelFont: this.look.font, grid: { stroke: this.look.grid, width: 1 }, ticks: { stroke: this.look.grid, width: 1 } };
    return {
      width,
      height: this.plotHeight(height),
      ms: 1,
      series,
      bands,
      legend: { live: true, mount: (_u, el) => this.legendHost.replaceChildren(el) },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        // Double click resets to the widget's range (uPlot's own would fit the data instead).
        bind: { dblclick: () => null },
        // Buckets without records are gaps: the cursor shows each series' nearest value instead of "—".
        dataIdx: (u, seriesIdx, closest) => nearestValue(u.data[seriesIdx] as (number | null)[] | undefined, closest),
        points: { size: 6 },
      },
      scales: {
        x: { time: true },
        y: {
          range: (_u, dmin, dmax) => {
            let lo = dmin ?? 0;
            let hi = dmax ?? 1;
            if (style === "bar") lo = Math.min(0, lo);
            if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
            const [pmin, pmax] = uPlot.rangeNum(lo, hi, 0.1, true);
            return [options.min ?? pmin, options.max ?? pmax];
          },
        },
      },
      axes: [
        { ...axis, space: 70 },
        {
          ...axis,
          size: 64,
          values: (_u, splits) => splits.map((v) => formatNumber(v, options.decimals)),
          ...(options.unit ? { label: options.unit, labelSize: 18 } : {}),
        },
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width > 4) this.zoomTo(u.posToVal(u.select.left, "x"), u.posToVal(u.select.left + u.select.width, "x"));
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
        draw: [(u) => this.drawThresholds(u)],
      },
    };
  }

  /** Thresholds as dashed horizontal lines in their colours, the value at the right end. */
  private drawThresholds(u: uPlot): void {
    const { thresholds, decimals, unit } = this.look.options;
    if (thresholds.length === 0) return;
    const { ctx, bbox } = u;
    const dpr = devicePixelRatio;
    ctx.save();
    ctx.lineWidth = 1.5 * dpr;
    ctx.setLineDash([6 * dpr, 4 * dpr]);
    ctx.font = `${11 * dpr}px ${this.look.font.replace(/^\d+px\s*/, "")}`;
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    const yMin = u.scales.y!.min!;
    const yMax = u.scales.y!.max!;
    for (const t of thresholds) {
      if (t.value < yMin || t.value > yMax) continue;
      const y = Math.round(u.valToPos(t.value, "y", true));
      ctx.strokeStyle = t.color;
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      ctx.fillStyle = t.color;
      ctx.fillText(formatValue(t.value, decimals, unit), bbox.left + bbox.width - 4 * dpr, y - 2 * dpr);
    }
    ctx.restore();
  }

  /** The min and max series only draw the band: their legend rows would repeat the average's. */
  private hideBandLegends(): void {
    if (!(this.look.options.band && this.look.style !== "bar")) return;
    const rows = this.legendHost.querySelectorAll<HTMLElement>(".u-series");
    rows.forEach((row, i) => {
      // Row 0 is time; then avg, min, max per series.
      if (i > 0 && (i - 1) % 3 !== 0) row.style.display = "none";
    });
  }

  private legendHeight(): number {
    return this.legendHost.offsetHeight;
  }

  private plotHeight(total: number): number {
    return Math.max(60, total - this.legendHeight());
  }

  private bindPan(): void {
    const root = this.u.root;
    const over = this.u.over;
    const onDown = (e: MouseEvent) => {
      if (!e.shiftKey || !this.view || e.button !== 0) return;
      // Before uPlot's own handler (drag-select) sees it.
      e.stopPropagation();
      e.preventDefault();
      let lastX = e.clientX;
      const move = (m: MouseEvent) => {
        if (!this.view) return;
        const msPerPx = (this.view.max - this.view.min) / over.clientWidth;
        const shift = -(m.clientX - lastX) * msPerPx;
        lastX = m.clientX;
        this.zoomTo(this.view.min + shift, this.view.max + shift);
      };
      const up = () => {
        window.removeEventListener("mousemove", move);
        window.removeEventListener("mouseup", up);
      };
      window.addEventListener("mousemove", move);
      window.addEventListener("mouseup", up);
    };
    const onWheel = (e: WheelEvent) => {
      // Only while zoomed: otherwise the wheel scrolls the dashboard as usual.
      if (!this.view) return;
      e.preventDefault();
      const delta = Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY;
      this.pan(Math.sign(delta) * 0.1);
    };
    const onDblClick = () => this.reset();
    root.addEventListener("mousedown", onDown, true);
    over.addEventListener("wheel", onWheel, { passive: false });
    over.addEventListener("dblclick", onDblClick);
    this.cleanups.push(() => {
      root.removeEventListener("mousedown", onDown, true);
      over.removeEventListener("wheel", onWheel);
      over.removeEventListener("dblclick", onDblClick);
    });
  }
}
