/**
 * A chart widget (line, area, bar): its data over the widget's range with `query=downsample`
 * and one bucket per pixel of width (the server answers min/max/avg per bucket, so a year of
 * records costs what a day does), then live records folded in (series_store.ts), drawn by one
 * uPlot (plot.ts) that lives as long as the series, theme and options stay.
 *
 * Downsampling is asked for every range, short ones too: when a range holds fewer records than
 * pixels each record is alone in its bucket (min = max = avg), so the chart is the same as with
 * raw records, and there is one code path and one bound (points ≤ pixels) instead of two.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import "../../styles/widgets.css";
import { theme } from "../../components/theme_toggle.js";
import { formatValue } from "../fields/format.js";
import type { RendererProps } from "../types.js";
import { useWidgetData } from "../use_widget_data.js";
import { resolveRange } from "../value/time_range.js";
import { PALETTE, type ChartOptions, type ChartStyle } from "./chart_options.js";
import { ChartPlot } from "./plot.js";
import { SeriesStore, type SeriesInfo } from "./series_store.js";

/** The API's bound on `buckets`. */
const MAX_BUCKETS = 10_000;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A series' label: the one chosen in the options, else its variable, with its device's name when the chart shows several devices. */
export function seriesLabel(options: ChartOptions, series: SeriesInfo, all: readonly SeriesInfo[], deviceNames: ReadonlyMap<string, string>): string {
  const chosen = options.series[series.key]?.label;
  if (chosen) return chosen;
  const devices = new Set(all.map((s) => s.device));
  return devices.size > 1 ? `${series.variable} · ${deviceNames.get(series.device) ?? series.device.slice(-6)}` : series.variable;
}

const STYLE_NAMES: Record<ChartStyle, string> = { line: "Line chart", area: "Area chart", bar: "Bar chart" };

export function ChartRenderer({ widget, options, ctx, width, height, style }: RendererProps<ChartOptions> & { style: ChartStyle }) {
  const buckets = Math.max(1, Math.min(MAX_BUCKETS, Math.floor(width)));
  // A reload after dropped live records asks for the range as it is then (a sliding one moved).
  const [epoch, setEpoch] = useState(0);
  useEffect(() => ctx.onResync(() => setEpoch((e) => e + 1)), [ctx]);
  const rangeKey = JSON.stringify([widget.data.map((s) => [s.start_date ?? null, s.end_date ?? null]), ctx.range, epoch, buckets]);
  const range = useMemo(() => resolveRange(widget, ctx.range), [rangeKey]);
  const { data: store, error, loading } = useWidgetData(ctx, widget, {
    query: { query: "downsample", start_date: new Date(range.start).toISOString(), end_date: new Date(range.end).toISOString(), buckets },
    read: (results) => SeriesStore.fromResults(results, range, buckets),
    // In place: a record is a few array writes and a draw at the next frame (series_store.ts).
    merge: (current, records) => {
      current.add(records);
      return current;
    },
  });

  const host = useRef<HTMLDivElement>(null);
  const legend = useRef<HTMLDivElement>(null);
  const box = useRef<HTMLDivElement>(null);
  // The box as laid out wins over the size given (a frame's padding may be counted in that).
  const measured = () => ({ width: Math.min(width, box.current?.clientWidth || width), height: Math.min(height, box.current?.clientHeight || height) });
  const plot = useRef<ChartPlot | undefined>(undefined);
  const [zoomed, setZoomed] = useState(false);
  const themeName = theme.value;
  const series = store?.series ?? [];
  const structure = `${series.map((s) => s.key).join("|")}#${store?.structure ?? 0}`;
  const names = ctx.deviceNames.value;
  const labels = series.map((s) => seriesLabel(options, s, series, names));
  const colors = series.map((s, i) => options.series[s.key]?.color || PALETTE[themeName][i % PALETTE[themeName].length]!);

  useEffect(() => {
    if (!store || !host.current || !legend.current) return undefined;
    const made = new ChartPlot(
      host.current,
      legend.current,
      store,
      { style, options, labels, colors, text: cssVar("--text"), muted: cssVar("--muted"), grid: cssVar("--border"), font: `12px ${cssVar("--font") || "sans-serif"}` },
      measured(),
      setZoomed,
    );
    plot.current = made;
    return () => {
      made.destroy();
      plot.current = undefined;
      setZoomed(false);
    };
    // Made again only when what it draws changes shape; data and size go in place below.
  }, [structure, themeName, JSON.stringify(options), labels.join("\n"), style, store !== undefined]);

  useEffect(() => {
    if (store) plot.current?.setStore(store);
  }, [store]);

  useEffect(() => {
    const size = measured();
    plot.current?.setSize(size.width, size.height);
  }, [width, height]);

  const onKey = (e: KeyboardEvent) => {
    const p = plot.current;
    if (!p) return;
    const actions: Record<string, () => void> = {
      "+": () => p.zoom(0.5),
      "=": () => p.zoom(0.5),
      "-": () => p.zoom(2),
      ArrowLeft: () => p.pan(-0.1),
      ArrowRight: () => p.pan(0.1),
      Escape: () => p.reset(),
      "0": () => p.reset(),
    };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  };

  const name = `${STYLE_NAMES[style]}: ${widget.label || labels.join(", ")}`;
  const hintId = `chart-hint-${widget.id}`;
  const empty = store !== undefined && series.length === 0;
  return (
    <div ref={box} class="chart-widget" data-buckets={buckets} data-series-count={series.length} data-zoomed={zoomed ? "true" : "false"}>
      {error && <p class="error small">{error}</p>}
      {loading && !store && <p class="muted small chart-loading">Loading…</p>}
      {empty && <p class="muted small chart-loading">No numeric data in this range.</p>}
      {zoomed && (
        <button type="button" class="btn small chart-reset" onClick={() => plot.current?.reset()}>
          Reset zoom
        </button>
      )}
      <div ref={host} class="chart-plot" tabIndex={0} role="group" aria-label={name} aria-describedby={hintId} onKeyDown={onKey} />
      <div ref={legend} class="chart-legend" />
      <p id={hintId} class="visually-hidden">
        Drag across the chart to zoom; shift+drag, the wheel or the arrow keys move a zoomed view; plus and minus zoom; Escape or a double click resets.
      </p>
      {store && (
        <ul class="visually-hidden" aria-label={`${widget.label || "Chart"}: latest values`}>
          {series.map((s, i) => {
            const latest = store.latest.get(s.key);
            return (
              <li key={s.key} data-series={s.key} data-value={latest?.value}>
                {labels[i]}: {latest ? formatValue(latest.value, options.decimals, options.unit) : "no data"}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
