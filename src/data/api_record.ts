/**
 * Records in TagoIO's JSON shape (the SDK's `Data`): snake_case dates as ISO strings, the
 * location as a GeoJSON Point, and optional fields left out when the record has none, as
 * TagoIO does (its docs show a location record with no `value` key at all). `details` adds
 * the deprecated aliases older clients read: `origin` (the device) and `serie` (the group).
 */
import type { AggregateBucketJson, DataRecordJson } from "../http/api_types.js";
import type { AggregateBucket, StoredRecord } from "./types.js";

/** The record's JSON, defined with the API's other shapes (the console reads it there). */
export type ApiRecord = DataRecordJson;

export function toApiRecord(record: StoredRecord, details = false): ApiRecord {
  const { value, unit, location, metadata } = record;
  return {
    id: record.id,
    device: record.device,
    variable: record.variable,
    ...(value !== null && { value }),
    ...(unit !== null && { unit }),
    group: record.group,
    ...(location && { location: { type: "Point" as const, coordinates: [location.lng, location.lat] as [number, number] } }),
    ...(metadata && { metadata }),
    time: record.time.toISOString(),
    created_at: record.createdAt.toISOString(),
    ...(details && { origin: record.device, serie: record.group }),
  };
}

/** An aggregate bucket as a record without id: `time` is the interval's start. */
export function toApiBucket(bucket: AggregateBucket, device: string): AggregateBucketJson {
  return { device, variable: bucket.variable, value: bucket.value, time: bucket.time.toISOString() };
}
