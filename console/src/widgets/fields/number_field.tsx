/**
 * A number option; empty means "none" (null) when `optional`. The text typed is kept while it
 * is not yet a number ("-", "1."), so typing is never fought by the parsed value.
 */
import { useEffect, useState } from "preact/hooks";

interface Props {
  label: string;
  value: number | null;
  onChange(value: number | null): void;
  optional?: boolean;
  min?: number;
  max?: number;
  step?: number | "any";
  placeholder?: string;
}

export function NumberField({ label, value, onChange, optional = false, min, max, step = "any", placeholder }: Props) {
  const [text, setText] = useState(value === null ? "" : String(value));
  useEffect(() => {
    if (Number(text) !== value || (value === null && text !== "")) setText(value === null ? "" : String(value));
    // Only an outside change of `value` resets the text (not each keystroke).
  }, [value]);
  return (
    <label>
      {label}
      <input
        type="number"
        inputMode="decimal"
        value={text}
        min={min}
        max={max}
        step={step}
        placeholder={placeholder}
        required={!optional}
        onInput={(e) => {
          const raw = e.currentTarget.value;
          setText(raw);
          if (raw.trim() === "") {
            if (optional) onChange(null);
            return;
          }
          const n = Number(raw);
          if (Number.isFinite(n) && (min === undefined || n >= min) && (max === undefined || n <= max)) onChange(n);
        }}
      />
    </label>
  );
}
