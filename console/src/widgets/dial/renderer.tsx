/** The dial: the last value on a half circle between min and max, coloured by thresholds (a meter for assistive technology). */
import "../../styles/widgets.css";
import { RelativeTime } from "../../components/relative_time.js";
import { formatValue } from "../fields/format.js";
import type { RendererProps } from "../types.js";
import { useLastValues } from "../value/last_value.js";
import { valueColor } from "../value/value_colors.js";
import { ValueStatus } from "../value/value_status.js";
import { DialSvg } from "./dial_svg.js";
import type { DialOptions } from "./options.js";

export function DialRenderer({ widget, options, ctx }: RendererProps<DialOptions>) {
  const state = useLastValues(ctx, widget, 1);
  const last = state.data?.values[0];
  if (!last || typeof last.value !== "number") {
    return <div class="value-widget">{last ? <p class="muted small">Not a number: {String(last.value)}</p> : <ValueStatus state={state} />}</div>;
  }
  const text = formatValue(last.value, options.decimals, options.unit);
  return (
    <div class="value-widget dial-widget">
      <div
        class="dial-meter"
        role="meter"
        aria-label={widget.label || last.variable}
        aria-valuemin={options.min}
        aria-valuemax={options.max}
        aria-valuenow={Math.min(options.max, Math.max(options.min, last.value))}
        aria-valuetext={text}
        data-value={String(last.value)}
      >
        <DialSvg value={last.value} min={options.min} max={options.max} unit={options.unit} decimals={options.decimals} thresholds={options.thresholds} color={valueColor(last.value, options.thresholds, options.color)} />
      </div>
      <p class="muted small value-time">
        <RelativeTime iso={last.time} />
      </p>
    </div>
  );
}
