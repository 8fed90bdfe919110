/**
 * Bars of a share of a limit (uPlot on a canvas), one per counter, with the limit drawn as a
 * dashed line at 100 % and each bar's share written above it. Colours come from the theme's
 * variables and follow it; the chart resizes with its box. Import it only from lazily loaded
 * modules: uPlot then stays out of the first screen's JavaScript.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { theme } from "./theme_toggle.js";

export interface Bar {
  label: string;
  /** Used, in % of the limit (may pass 100). */
  percent: number;
}

const HEIGHT = 220;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** ok under 80 %, warn up to the limit, bad past it: the same thresholds as the table. */
export function level(percent: number): "ok" | "warn" | "bad" {
  return percent >= 100 ? "bad" : percent >= 80 ? "warn" : "ok";
}

export function BarChart({ bars, label }: { bars: Bar[]; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const themeName = theme.value;

  useEffect(() => {
    const el = host.current!;
    const colors = { text: cssVar("--text"), muted: cssVar("--muted"), border: cssVar("--border"), ok: cssVar("--ok"), warn: cssVar("--warn"), bad: cssVar("--bad"), accent: cssVar("--accent") };
    const font = `12px ${cssVar("--font") || "sans-serif"}`;
    const xs = bars.map((_, i) => i);
    const ys = bars.map((b) => b.percent);
    const top = Math.max(120, Math.ceil((Math.max(0, ...ys) * 1.15) / 10) * 10);
    const narrow = () => el.clientWidth < 480;

    const chart = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: HEIGHT,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-0.5, bars.length - 0.5] }, y: { range: [0, top] } },
        axes: [
          {
            stroke: colors.text,
            font,
            grid: { show: false },
            ticks: { show: false },
            splits: () => xs,
            values: (_u, splits) => splits.map((i) => bars[i]?.label ?? ""),
            rotate: () => (narrow() ? -35 : 0),
            size: () => (narrow() ? 70 : 36),
          },
          {
            stroke: colors.muted,
            font,
            grid: { stroke: colors.border, width: 1 },
            ticks: { stroke: colors.border },
            values: (_u, splits) => splits.map((v) => `${v}%`),
            size: 48,
          },
        ],
        series: [
          {},
          {
            label: "share of the limit",
            // No outline: uPlot uses the per-bar fills (disp.fill) only for bars of width 0.
            width: 0,
            paths: uPlot.paths.bars!({
              size: [0.6, 72],
              disp: {
                fill: {
                  unit: 3 as uPlot.Series.BarsPathBuilderFacetUnit,
                  values: () => ys.map((y) => colors[level(y)]),
                },
              },
            }),
            points: { show: false },
          },
        ],
        hooks: {
          draw: [
            (u) => {
              const ctx = u.ctx;
              const px = (v: number) => u.valToPos(v, "y", true);
              ctx.save();
              // The limit.
              ctx.strokeStyle = colors.text;
              ctx.lineWidth = 1.5 * devicePixelRatio;
              ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
              ctx.beginPath();
              ctx.moveTo(u.bbox.left, px(100));
              ctx.lineTo(u.bbox.left + u.bbox.width, px(100));
              ctx.stroke();
              ctx.setLineDash([]);
              ctx.fillStyle = colors.text;
              ctx.font = `${12 * devicePixelRatio}px ${cssVar("--font") || "sans-serif"}`;
              ctx.textAlign = "right";
              ctx.textBaseline = "bottom";
              ctx.fillText("limit", u.bbox.left + u.bbox.width - 4 * devicePixelRatio, px(100) - 2 * devicePixelRatio);
              // Each bar's share, above it.
              ctx.textAlign = "center";
              for (let i = 0; i < ys.length; i++) {
                const text = ys[i]! < 1 && ys[i]! > 0 ? "<1%" : `${Math.round(ys[i]!)}%`;
                ctx.fillText(text, u.valToPos(i, "x", true), px(ys[i]!) - 3 * devicePixelRatio);
              }
              ctx.restore();
            },
          ],
        },
      },
      [xs, ys],
      el,
    );
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [JSON.stringify(bars), themeName]);

  // The canvas is a picture of the table beside it, which screen readers read instead.
  return <div ref={host} class="bar-chart" role="img" aria-label={label} style={{ height: `${HEIGHT}px` }} />;
}
