/**
 * The dashboard-wide time range: every widget's data is read over it instead of its own.
 * Kept by the page as `range=<preset>` or `from=`/`to=` (ISO dates).
 */
import type { TimeRange } from "../widgets/types.js";
import { fromLocalInput, RANGE_PRESETS, toLocalInput } from "./range_presets.js";

export interface RangeChoice {
  range?: string;
  from?: string;
  to?: string;
}

/** The range a choice means now (presets count back from this moment). */
export function rangeOf(choice: RangeChoice, now = Date.now()): TimeRange | undefined {
  const preset = RANGE_PRESETS.find((p) => p.value === choice.range);
  if (preset) return { start: new Date(now - preset.ms), end: "now" };
  if (choice.from) {
    const start = new Date(choice.from);
    const end = choice.to ? new Date(choice.to) : undefined;
    if (Number.isNaN(start.getTime()) || (end && Number.isNaN(end.getTime()))) return undefined;
    return { start, end: end ?? "now" };
  }
  return undefined;
}

export function RangePicker({ choice, onChange }: { choice: RangeChoice; onChange(choice: RangeChoice): void }) {
  const mode = choice.range && RANGE_PRESETS.some((p) => p.value === choice.range) ? choice.range : choice.from ? "custom" : "";
  return (
    <>
      <label>
        Time range
        <select
          value={mode}
          onChange={(e) => {
            const v = e.currentTarget.value;
            if (v === "custom") onChange({ from: new Date(Date.now() - 86_400_000).toISOString() });
            else onChange(v ? { range: v } : {});
          }}
        >
          <option value="">Each widget's own</option>
          {RANGE_PRESETS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </label>
      {mode === "custom" && (
        <>
          <label>
            From
            <input type="datetime-local" value={toLocalInput(choice.from)} onChange={(e) => onChange({ ...choice, from: fromLocalInput(e.currentTarget.value) ?? choice.from })} />
          </label>
          <label>
            To (empty: now)
            <input type="datetime-local" value={toLocalInput(choice.to)} onChange={(e) => onChange({ ...choice, to: fromLocalInput(e.currentTarget.value) })} />
          </label>
        </>
      )}
    </>
  );
}
