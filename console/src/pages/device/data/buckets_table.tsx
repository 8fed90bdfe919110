/** `query=aggregate` buckets: one row per variable and interval (its start time) with the computed value. */
import type { AggregateBucketJson } from "../../../../../src/http/api_types.js";
import { formatTime, zoneLabel, type TimeZoneChoice } from "./time_format.js";

export function BucketsTable({ rows, zone, fn }: { rows: AggregateBucketJson[]; zone: TimeZoneChoice; fn: string }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Aggregates">
      <table class="grid data-table">
        <thead>
          <tr>
            <th>Interval start ({zoneLabel(zone)})</th>
            <th>Variable</th>
            <th>{fn}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((b) => (
            <tr key={`${b.variable}|${b.time}`}>
              <td class="mono" title={b.time}>{formatTime(b.time, zone)}</td>
              <td>{b.variable}</td>
              <td class="mono">{b.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
