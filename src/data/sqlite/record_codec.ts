/**
 * How a record sits in `data_records`, and its public id.
 *
 * The value keeps its JSON type through `vtype` (SQLite has no boolean, and a string "10" must
 * not come back as the number 10); numeric queries (min, avg, aggregate...) read `vtype = 1`.
 *
 * The public id is 24 hex digits like TagoIO's: the creation second (8 digits, as in a Mongo
 * ObjectId) then the row's seq (16 digits). It is derived, not stored, so it costs no column
 * and no index; looking a record up by id is a primary-key read.
 */
import type { GeoPoint, NormalizedRecord, RecordValue, StoredRecord } from "../types.js";

export const ValueType = { None: 0, Number: 1, String: 2, Boolean: 3 } as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** A row as read back (columns of RECORD_COLUMNS). */
export interface RecordRow {
  seq: number;
  variable: string;
  time: number;
  vtype: ValueType;
  value: number | string | null;
  unit: string | null;
  grp: string;
  lat: number | null;
  lng: number | null;
  metadata: string | null;
  created_at: number;
}

export const RECORD_COLUMNS = "seq, variable, time, vtype, value, unit, grp, lat, lng, metadata, created_at";

/** The row's columns from `bucket` to `created_at`, in the order of the INSERT statement. */
export type InsertParams = [bucket: number, variable: string, time: number, vtype: ValueType, value: number | string | null,
  unit: string | null, grp: string, lat: number | null, lng: number | null, metadata: string | null, createdAt: number];

export function encodeValue(value: RecordValue | null): [ValueType, number | string | null] {
  switch (typeof value) {
    case "number":
      return [ValueType.Number, value];
    case "string":
      return [ValueType.String, value];
    case "boolean":
      return [ValueType.Boolean, value ? 1 : 0];
    default:
      if (value === null) return [ValueType.None, null];
      // Validation lets nothing else through; a caller that bypassed it gets a clear error.
      throw new TypeError(`record value of type ${typeof value} cannot be stored`);
  }
}

export function decodeValue(vtype: ValueType, value: number | string | null): RecordValue | null {
  if (vtype === ValueType.Boolean) return value === 1;
  if (vtype === ValueType.None) return null;
  return value;
}

export function insertParams(bucket: number, record: NormalizedRecord, createdAt: number): InsertParams {
  const [vtype, value] = encodeValue(record.value);
  return [
    bucket, record.variable, record.time.getTime(), vtype, value, record.unit, record.group,
    record.location?.lat ?? null, record.location?.lng ?? null,
    record.metadata === null ? null : JSON.stringify(record.metadata), createdAt,
  ];
}

export function decodeRow(row: RecordRow, device: string): StoredRecord {
  const location: GeoPoint | null = row.lat === null || row.lng === null ? null : { lat: row.lat, lng: row.lng };
  return {
    id: recordId(row.seq, row.created_at),
    device,
    variable: row.variable,
    value: decodeValue(row.vtype, row.value),
    unit: row.unit,
    time: new Date(row.time),
    group: row.grp,
    location,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
    createdAt: new Date(row.created_at),
  };
}

export function recordId(seq: number, createdAtMs: number): string {
  return Math.floor(createdAtMs / 1000).toString(16).padStart(8, "0") + seq.toString(16).padStart(16, "0");
}

/** The seq inside a record id, or undefined when `id` is not one of ours. */
export function seqOf(id: string): number | undefined {
  if (!/^[0-9a-fA-F]{24}$/.test(id)) return undefined;
  const seq = Number.parseInt(id.slice(8), 16);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}
