/** The card: caption, the last value and unit, a stripe in the threshold's colour, the change since the value before, and its age. */
import "../../styles/widgets.css";
import { RelativeTime } from "../../components/relative_time.js";
import { formatNumber } from "../fields/format.js";
import type { RendererProps } from "../types.js";
import { useLastValues } from "../value/last_value.js";
import { valueColor } from "../value/value_colors.js";
import { ValueStatus } from "../value/value_status.js";
import type { CardOptions } from "./options.js";

export function CardRenderer({ widget, options, ctx }: RendererProps<CardOptions>) {
  // Two: the last value and the one before it, for the trend.
  const state = useLastValues(ctx, widget, 2);
  const [last, before] = state.data?.values ?? [];
  const caption = options.caption || state.data?.variable || widget.label;
  if (!last) {
    return (
      <div class="value-widget card-widget">
        <p class="card-caption">{caption}</p>
        <ValueStatus state={state} />
      </div>
    );
  }
  const text = typeof last.value === "number" ? formatNumber(last.value, options.decimals) : String(last.value);
  const delta = typeof last.value === "number" && typeof before?.value === "number" ? last.value - before.value : undefined;
  const trend = delta === undefined ? undefined : delta > 0 ? "up" : delta < 0 ? "down" : "flat";
  const unit = options.unit;
  return (
    <div class="value-widget card-widget" style={{ "--value-color": valueColor(last.value, options.thresholds, options.color) }}>
      <p class="card-caption">{caption}</p>
      <p class="card-value" data-value={String(last.value)}>
        <span>{text}</span>
        {unit && <span class="value-unit">{unit}</span>}
      </p>
      <p class="card-foot muted small">
        {options.showTrend && trend !== undefined && delta !== undefined && (
          <span class={`card-trend card-trend-${trend}`} data-trend={trend}>
            <span aria-hidden="true">
              {trend === "up" ? "▲" : trend === "down" ? "▼" : "■"} {formatNumber(Math.abs(delta), options.decimals)}
            </span>
            <span class="visually-hidden">
              {trend === "flat" ? "unchanged" : `${trend} ${formatNumber(Math.abs(delta), options.decimals)}`} since the value before
            </span>
          </span>
        )}
        {options.showTime && <RelativeTime iso={last.time} />}
      </p>
    </div>
  );
}
