import type { DataQuery } from "./query.js";

/** The TagoIO data format (../shared/SPEC.md, "The data format"), as Sluice stores it. */
export type RecordValue = string | number | boolean;

export interface GeoPoint {
  lat: number;
  lng: number;
}

/** A record as a client sends it; nothing is trusted yet. */
export interface RecordInput {
  variable: string;
  value?: RecordValue | null;
  unit?: string;
  time?: string | Date;
  group?: string;
  location?: GeoPoint | { type: "Point"; coordinates: [number, number] } | null;
  metadata?: Record<string, unknown>;
}

/** A validated record: variable lower-cased, time and group resolved. */
export interface NormalizedRecord {
  variable: string;
  value: RecordValue | null;
  unit: string | null;
  time: Date;
  group: string;
  location: GeoPoint | null;
  metadata: Record<string, unknown> | null;
}

/** A record in a bucket: the server adds `id`, `device` and `createdAt`. */
export interface StoredRecord extends NormalizedRecord {
  id: string;
  device: string;
  createdAt: Date;
}

/** A partial edit of a stored record (`PUT /data`): an absent field stays, `null` clears it. */
export interface RecordEdit {
  id: string;
  value?: RecordValue | null;
  unit?: string | null;
  group?: string;
  time?: Date;
  location?: GeoPoint | null;
  metadata?: Record<string, unknown> | null;
}

/** How much of a bucket to keep: records newer than `days`, and at most the newest `records`. */
export interface RetentionPolicy {
  days?: number | null;
  records?: number | null;
}

/** One bucket of an `aggregate` query: `time` is the start of the interval. */
export interface AggregateBucket {
  variable: string;
  time: Date;
  value: number;
}

/**
 * One time bucket of a `downsample` query, over the numeric records of one variable: the
 * bucket covers [start, end) (so the last one's `end` is the query's end + 1 ms); `first` and
 * `last` are the times of its first and last record. Buckets without records are left out.
 */
export interface DownsampleBucket {
  variable: string;
  start: Date;
  end: Date;
  min: number;
  max: number;
  avg: number;
  count: number;
  first: Date;
  last: Date;
}

/**
 * What a query answers: records (lists, last/first, min/max, conditional), a number (count,
 * avg, sum; null when there was nothing to average), aggregate buckets, or downsample buckets.
 */
export type QueryResult =
  /** `truncated`: the page was cut at the query's `maxBytes` (`data.maxPageBytes`); more records were within `qty`. */
  | { type: "records"; records: StoredRecord[]; truncated?: boolean }
  | { type: "number"; value: number | null }
  | { type: "buckets"; buckets: AggregateBucket[] }
  | { type: "series"; series: DownsampleBucket[] };

/**
 * A device's time-series store. `insert` resolves only once the records are durably
 * committed (implementations batch commits across callers); a batch is stored whole or not
 * at all.
 */
export interface BucketStore {
  insert(deviceId: string, records: NormalizedRecord[]): Promise<StoredRecord[]>;
  /**
   * The newest record of `variable` (by `time`) that has a value, TagoIO's `last_value`; read
   * from a per-variable index table, never by scanning (used by condition triggers).
   */
  lastValue(deviceId: string, variable: string): Promise<StoredRecord | undefined>;
  /** Removes a deleted device's whole bucket. */
  dropDevice(deviceId: string): Promise<void>;

  /** Answers a `GET /data` query. */
  query(deviceId: string, query: DataQuery): Promise<QueryResult>;
  /** A hint that `query=downsample` will be asked over this range (a chart was saved or opened): work ahead in the background. */
  prepareDownsample?(deviceId: string, variables: string[], from: Date, to: Date): void;
  /** Applies edits by record id; ids not in this bucket are skipped. Returns how many changed. */
  edit(deviceId: string, edits: RecordEdit[]): Promise<number>;
  /** Deletes the records `query` selects (ids or filter; summaries are refused). Returns how many. */
  remove(deviceId: string, query: DataQuery): Promise<number>;
  /** How many records the bucket holds, without counting them. */
  count(deviceId: string): Promise<number>;
  /** The device's stored retention (both fields null when it keeps everything). */
  retention(deviceId: string): Promise<Required<RetentionPolicy>>;
  setRetention(deviceId: string, policy: RetentionPolicy): Promise<void>;
  /** Deletes what `policy` (default: the stored one) does not keep. Returns how many records went. */
  applyRetention(deviceId: string, policy?: RetentionPolicy): Promise<number>;
}
