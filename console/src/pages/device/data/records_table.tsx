/**
 * One page of records as a table: select rows (for deleting), edit one. A page holds at most
 * 250 rows, so a plain table (real rows and cells for screen readers) costs little; the bucket
 * behind it is paged by the API, never loaded whole.
 */
import type { DataRecordJson } from "../../../../../src/http/api_types.js";
import { formatTime, zoneLabel, type TimeZoneChoice } from "./time_format.js";

export interface RecordsTableProps {
  rows: DataRecordJson[];
  zone: TimeZoneChoice;
  selected: ReadonlySet<string>;
  onSelect: (ids: Set<string>) => void;
  onEdit: (record: DataRecordJson) => void;
}

export function RecordsTable({ rows, zone, selected, onSelect, onEdit }: RecordsTableProps) {
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    onSelect(next);
  };
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Records">
      <table class="grid data-table">
        <thead>
          <tr>
            <th class="check">
              <input type="checkbox" aria-label="Select all records on this page" checked={allSelected} onChange={() => onSelect(allSelected ? new Set() : new Set(rows.map((r) => r.id)))} />
            </th>
            <th>Time ({zoneLabel(zone)})</th>
            <th>Variable</th>
            <th>Value</th>
            <th>Unit</th>
            <th>Group</th>
            <th>Location</th>
            <th>Metadata</th>
            <th><span class="visually-hidden">Edit</span></th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} class={selected.has(r.id) ? "selected" : undefined}>
              <td class="check">
                <input type="checkbox" aria-label={`Select ${r.variable} at ${r.time}`} checked={selected.has(r.id)} onChange={() => toggle(r.id)} />
              </td>
              <td class="mono" title={r.time}>{formatTime(r.time, zone)}</td>
              <td>{r.variable}</td>
              <td class="value">
                <Value value={r.value} />
              </td>
              <td>{r.unit ?? ""}</td>
              <td class="mono small" title={r.group}>{r.group}</td>
              <td class="mono small">{r.location ? `${r.location.coordinates[1]}, ${r.location.coordinates[0]}` : ""}</td>
              <td class="mono small metadata" title={r.metadata ? JSON.stringify(r.metadata, null, 2) : undefined}>
                {r.metadata ? JSON.stringify(r.metadata) : ""}
              </td>
              <td>
                <button type="button" class="btn small" onClick={() => onEdit(r)} aria-label={`Edit ${r.variable} at ${r.time}`}>
                  Edit
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A value with its type visible: text in quotes would mislead, so types other than numbers get a badge. */
function Value({ value }: { value: DataRecordJson["value"] }) {
  if (value === undefined) return <span class="muted">none</span>;
  if (typeof value === "number") return <span class="mono">{value}</span>;
  if (typeof value === "boolean") return <span class="mono">{String(value)} <span class="pill">bool</span></span>;
  return <span title={value}>{value}</span>;
}
