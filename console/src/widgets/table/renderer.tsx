import { useState } from "preact/hooks";
import type { DataRecordJson, WidgetSourceResultJson } from "../../../../src/http/api_types.js";
import type { RendererProps } from "../types.js";
import { useWidgetData } from "../use_widget_data.js";
import type { Column, TableOptions } from "./options.js";
import "../../styles/widget_table.css";

interface Page {
  rows: DataRecordJson[];
  /** Some source filled its page: there may be a next one. */
  more: boolean;
  errors: string[];
}

const byTimeDesc = (a: DataRecordJson, b: DataRecordJson) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0);

function readPage(results: WidgetSourceResultJson[], amount: number): Page {
  const rows: DataRecordJson[] = [];
  const errors: string[] = [];
  let more = false;
  for (const r of results) {
    if (r.error !== undefined) errors.push(r.error);
    if (!Array.isArray(r.result)) continue;
    const records = (r.result as DataRecordJson[]).filter((x) => typeof x === "object" && x !== null && "variable" in x);
    if (records.length >= amount) more = true;
    rows.push(...records);
  }
  return { rows: rows.sort(byTimeDesc), more, errors };
}

function cell(record: DataRecordJson, column: Column): string {
  switch (column) {
    case "variable":
      return record.variable;
    case "value":
      return record.value === undefined ? "" : typeof record.value === "string" ? record.value : JSON.stringify(record.value);
    case "unit":
      return record.unit ?? "";
    case "time":
      return new Date(record.time).toLocaleString();
    case "device":
      return record.device;
  }
}

/** Records a page at a time (`page`/`amount` of the widget's data); new records join the first page live. */
export function TableRenderer({ widget, options, ctx }: RendererProps<TableOptions>) {
  const [page, setPage] = useState(1);
  const { amount, columns } = options;
  const { data, error, loading } = useWidgetData<Page>(ctx, widget, {
    query: { page, amount },
    read: (results) => readPage(results, amount),
    // Only the first page shows the newest records; later pages keep what they loaded.
    merge: (current, records) => (page === 1 ? { ...current, rows: [...records].sort(byTimeDesc).concat(current.rows).slice(0, Math.max(amount, current.rows.length)) } : current),
  });
  const caption = widget.label || "Records";
  return (
    <div class="widget-table">
      <div class="table-scroll" role="region" aria-label={caption} tabIndex={0}>
        <table class="grid">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data?.rows.map((r) => (
              <tr key={`${r.id}:${r.device}`}>
                {columns.map((c) => (
                  <td key={c} class={c === "device" ? "mono" : c === "value" && typeof r.value === "number" ? "number" : undefined}>
                    {cell(r, c)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {data && data.rows.length === 0 && <p class="muted widget-empty">{page === 1 ? "No records yet." : "No more records."}</p>}
      </div>
      {(error !== undefined || (data?.errors.length ?? 0) > 0) && (
        <p class="error small" role="alert">
          {error ?? data?.errors.join("; ")}
        </p>
      )}
      <nav class="widget-table-pager" aria-label={`${caption}: pages`}>
        <button type="button" class="btn small" disabled={page === 1 || loading} onClick={() => setPage(page - 1)}>
          Newer
        </button>
        <span class="muted small" aria-live="polite">
          Page {page}
        </span>
        <button type="button" class="btn small" disabled={!data?.more || loading} onClick={() => setPage(page + 1)}>
          Older
        </button>
      </nav>
    </div>
  );
}
