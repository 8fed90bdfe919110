/** Minimum and maximum of a scale; empty: from the data (charts) or a required bound (dial). */
import { NumberField } from "./number_field.js";

interface Props {
  min: number | null;
  max: number | null;
  onChange(range: { min: number | null; max: number | null }): void;
  /** Charts may leave both to the data; a dial needs them. */
  optional?: boolean;
}

export function RangeField({ min, max, onChange, optional = true }: Props) {
  const wrong = min !== null && max !== null && min >= max;
  return (
    <fieldset class="widget-fieldset">
      <legend>Scale</legend>
      <div class="widget-field-row">
        <NumberField label="Minimum" value={min} optional={optional} placeholder={optional ? "auto" : undefined} onChange={(v) => onChange({ min: v, max })} />
        <NumberField label="Maximum" value={max} optional={optional} placeholder={optional ? "auto" : undefined} onChange={(v) => onChange({ min, max: v })} />
      </div>
      {optional && <p class="muted small">Empty: from the data.</p>}
      {wrong && (
        <p class="error" role="alert">
          The minimum must be below the maximum.
        </p>
      )}
    </fieldset>
  );
}
