import "../../styles/widget_parts.css";
import type { EditorProps } from "../types.js";
import { COLUMNS, MAX_AMOUNT, type TableOptions } from "./options.js";

export function TableEditor({ options: o, onChange }: EditorProps<TableOptions>) {
  const toggle = (column: (typeof COLUMNS)[number], on: boolean) => {
    const columns = COLUMNS.filter((c) => (c === column ? on : o.columns.includes(c)));
    if (columns.length > 0) onChange({ ...o, columns });
  };
  return (
    <>
      <fieldset class="widget-fieldset">
        <legend>Columns</legend>
        {COLUMNS.map((c) => (
          <label key={c} class="inline">
            <input type="checkbox" checked={o.columns.includes(c)} disabled={o.columns.length === 1 && o.columns.includes(c)} onChange={(e) => toggle(c, e.currentTarget.checked)} />
            {c}
          </label>
        ))}
      </fieldset>
      <label>
        Rows a page
        <input
          type="number"
          min={1}
          max={MAX_AMOUNT}
          value={o.amount}
          onInput={(e) => {
            const n = e.currentTarget.valueAsNumber;
            if (Number.isInteger(n) && n >= 1 && n <= MAX_AMOUNT) onChange({ ...o, amount: n });
          }}
        />
      </label>
    </>
  );
}
