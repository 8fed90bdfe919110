/** What a single-value widget shows before or instead of a value: loading, the API's error, no data yet. */
import type { WidgetData } from "../use_widget_data.js";
import type { LastValues } from "./last_value.js";

export function ValueStatus({ state }: { state: WidgetData<LastValues> }) {
  if (state.error) return <p class="error small">{state.error}</p>;
  if (!state.data) return <p class="muted small">Loading…</p>;
  if (state.data.error) return <p class="error small">{state.data.error}</p>;
  return <p class="muted small">No data yet</p>;
}
