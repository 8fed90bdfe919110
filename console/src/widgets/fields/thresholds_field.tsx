/** The thresholds list: rows of "from value → colour", added and removed; kept sorted by the parse. */
import { ColorField } from "./color_field.js";
import { NumberField } from "./number_field.js";
import { MAX_THRESHOLDS, type Threshold } from "./thresholds.js";

const NEXT_COLORS = ["#a16207", "#b91c1c", "#15803d", "#1d4ed8"];

export function ThresholdsField({ value, onChange, hint }: { value: Threshold[]; onChange(value: Threshold[]): void; hint?: string }) {
  const set = (i: number, t: Threshold) => onChange(value.map((old, j) => (j === i ? t : old)));
  const add = () => {
    const last = value[value.length - 1];
    onChange([...value, { value: last ? last.value + 10 : 0, color: NEXT_COLORS[value.length % NEXT_COLORS.length]! }]);
  };
  return (
    <fieldset class="widget-fieldset">
      <legend>Thresholds</legend>
      <p class="muted small">{hint ?? "A value at or above a threshold takes its colour."}</p>
      {value.length === 0 && <p class="muted small">No thresholds.</p>}
      <ul class="widget-thresholds">
        {value.map((t, i) => (
          <li key={i} class="widget-field-row">
            <NumberField label={`Threshold ${i + 1}: from`} value={t.value} onChange={(v) => v !== null && set(i, { ...t, value: v })} />
            <ColorField label={`Threshold ${i + 1} colour`} value={t.color} onChange={(color) => set(i, { ...t, color })} />
            <button type="button" class="btn small" aria-label={`Remove threshold ${i + 1}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <button type="button" class="btn small" onClick={add} disabled={value.length >= MAX_THRESHOLDS}>
        Add threshold
      </button>
    </fieldset>
  );
}
