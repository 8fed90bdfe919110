/**
 * Records in TagoIO's JSON shape (the SDK's `Data`): snake_case dates as ISO strings, the
 * location as a GeoJSON Point, and optional fields left out when the record has none, as
 * TagoIO does (its docs show a location record with no `value` key at all). `details` adds
 * the deprecated aliases older clients read: `origin` (the device) and `serie` (the group).
 */
import type { AggregateBucket, DownsampleBucket, RecordValue, StoredRecord } from "./types.js";

export interface ApiRecord {
  id: string;
  device: string;
  variable: string;
  value?: RecordValue;
  unit?: string;
  group: string;
  location?: { type: "Point"; coordinates: [number, number] };
  metadata?: Record<string, unknown>;
  time: string;
  created_at: string;
  origin?: string;
  serie?: string;
}

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
export function toApiBucket(bucket: AggregateBucket, device: string): { device: string; variable: string; value: number; time: string } {
  return { device, variable: bucket.variable, value: bucket.value, time: bucket.time.toISOString() };
}

/**
 * A downsample bucket (`query=downsample`): `time` is the bucket's start and `end` its
 * (excluded) end; `value` is the average, so a client plotting `{ time, value }` as it does
 * records draws the mean line, and min/max give the band around it.
 */
export interface ApiDownsampleBucket {
  device: string;
  variable: string;
  time: string;
  end: string;
  value: number;
  min: number;
  max: number;
  avg: number;
  count: number;
  first_time: string;
  last_time: string;
}

export function toApiDownsample(bucket: DownsampleBucket, device: string): ApiDownsampleBucket {
  return {
    device, variable: bucket.variable, time: bucket.start.toISOString(), end: bucket.end.toISOString(), value: bucket.avg,
    min: bucket.min, max: bucket.max, avg: bucket.avg, count: bucket.count, first_time: bucket.first.toISOString(), last_time: bucket.last.toISOString(),
  };
}
