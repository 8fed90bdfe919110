/**
 * Records (TagoIO's data format: variable, value, unit, time, group, location, metadata) as a
 * table: what a parser produced, what a device sent over HTTP. Anything that is not a record is
 * shown as its JSON in the value column, so nothing is hidden.
 */
import "../styles/records_table.css";

export function isRecordList(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length > 0 && value.some((item) => typeof item === "object" && item !== null && "variable" in item);
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function RecordsTable({ records, caption }: { records: readonly unknown[]; caption: string }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label={caption}>
      <table class="grid records-table" aria-label={caption}>
        <thead>
          <tr>
            <th scope="col">variable</th>
            <th scope="col">value</th>
            <th scope="col">unit</th>
            <th scope="col">time</th>
            <th scope="col">group</th>
            <th scope="col">metadata</th>
          </tr>
        </thead>
        <tbody>
          {records.map((item, i) => {
            const record = typeof item === "object" && item !== null && !Array.isArray(item) ? (item as Record<string, unknown>) : undefined;
            return record && "variable" in record ? (
              <tr key={i}>
                <td class="mono">{cell(record.variable)}</td>
                <td class="mono">{cell(record.value)}</td>
                <td>{cell(record.unit)}</td>
                <td>{cell(record.time)}</td>
                <td>{cell(record.group)}</td>
                <td class="mono">{cell(record.metadata)}</td>
              </tr>
            ) : (
              <tr key={i}>
                <td class="muted">—</td>
                <td class="mono" colSpan={5}>{cell(item)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
