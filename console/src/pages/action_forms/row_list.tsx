/** Trigger rows: each in its own fieldset with a remove button, and a button to add one. */
import type { ComponentChildren } from "preact";

export interface RowListProps<R> {
  rows: R[];
  onChange: (rows: R[]) => void;
  /** A new row. */
  blank: () => R;
  /** The legend of row `i` ("Condition 1"). */
  legend: (i: number) => string;
  render: (row: R, set: (row: R) => void, i: number) => ComponentChildren;
  addLabel: string;
  /** Rows may not go below this many (the API wants at least one). */
  min?: number;
}

export function RowList<R>({ rows, onChange, blank, legend, render, addLabel, min = 1 }: RowListProps<R>) {
  return (
    <div class="row-list">
      {rows.map((row, i) => (
        <fieldset key={i} class="trigger-row">
          <legend>{legend(i)}</legend>
          {render(row, (next) => onChange(rows.map((r, j) => (j === i ? next : r))), i)}
          {rows.length > min && (
            <button type="button" class="btn small" onClick={() => onChange(rows.filter((_, j) => j !== i))} aria-label={`Remove ${legend(i).toLowerCase()}`}>
              Remove
            </button>
          )}
        </fieldset>
      ))}
      <button type="button" class="btn small" onClick={() => onChange([...rows, blank()])}>
        {addLabel}
      </button>
    </div>
  );
}
