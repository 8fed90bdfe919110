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

/**
 * Bytes of a record's JSON (api_record.ts) outside its variable strings: the keys, id, device
 * (up to 64), dates, location and `details` aliases, rounded up.
 */
const RECORD_JSON_OVERHEAD = 384;

/**
 * About how many bytes the row takes in a response, from its stored columns, without decoding
 * or serializing it (what bounds a page in bytes, `data.maxPageBytes`). Strings count as their
 * UTF-8 bytes plus JSON escapes; metadata is stored as JSON already, so it counts as stored.
 * `group` counts twice (the `serie` alias of `details`).
 */
export function rowJsonBytes(row: RecordRow): number {
  return (
    RECORD_JSON_OVERHEAD +
    jsonStringBytes(row.variable) +
    2 * jsonStringBytes(row.grp) +
    (row.unit === null ? 0 : jsonStringBytes(row.unit)) +
    (typeof row.value === "string" ? jsonStringBytes(row.value) : 0) +
    (row.metadata === null ? 0 : Buffer.byteLength(row.metadata, "utf8"))
  );
}

const NEEDS_ESCAPE = /[\u0000-\u001f"\\]/;
const NEEDS_ESCAPE_ALL = /[\u0000-\u001f"\\]/g;

/** Bytes of `s` as a JSON string body: UTF-8, plus up to 5 per escaped character (`\u0001`). */
function jsonStringBytes(s: string): number {
  const bytes = Buffer.byteLength(s, "utf8");
  if (!NEEDS_ESCAPE.test(s)) return bytes;
  return bytes + 5 * (s.match(NEEDS_ESCAPE_ALL)?.length ?? 0);
}
