/** The display: the last value, big, with its unit; a stripe in the threshold's colour; "3 min ago". */
import "../../styles/widgets.css";
import { RelativeTime } from "../../components/relative_time.js";
import { formatNumber } from "../fields/format.js";
import type { RendererProps } from "../types.js";
import { useLastValues } from "../value/last_value.js";
import { valueColor } from "../value/value_colors.js";
import { ValueStatus } from "../value/value_status.js";
import type { DisplayOptions } from "./options.js";

export function DisplayRenderer({ widget, options, ctx, width, height }: RendererProps<DisplayOptions>) {
  const state = useLastValues(ctx, widget, 1);
  const last = state.data?.values[0];
  if (!last) return <div class="value-widget">{<ValueStatus state={state} />}</div>;
  const text = typeof last.value === "number" ? formatNumber(last.value, options.decimals) : String(last.value);
  const unit = options.unit;
  // The number fills the box: by width for its characters, by height for one line.
  const size = Math.max(16, Math.min(height * 0.45, (width * 0.8) / Math.max(2, (text + unit).length * 0.6)));
  return (
    <div class="value-widget display-widget" style={{ "--value-color": valueColor(last.value, options.thresholds, options.color) }}>
      <p class="display-value" data-value={String(last.value)} style={{ fontSize: `${size}px` }}>
        <span>{text}</span>
        {unit && <span class="value-unit">{unit}</span>}
      </p>
      {options.showTime && (
        <p class="muted small value-time">
          <RelativeTime iso={last.time} />
        </p>
      )}
    </div>
  );
}
