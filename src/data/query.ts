/**
 * `GET /data` (and `DELETE /data`) query options → a typed `DataQuery` (SPEC, "The data format").
 *
 * Decisions, where TagoIO leaves room:
 * - `qty` defaults to 15, TagoIO's documented default (its SDK also says an empty delete
 *   removes "the last 15"); at most 10 000, the SDK's own streaming ceiling. `skip` at most
 *   `data.maxSkip` (100 000 by default): skipped records are still walked.
 * - With a `variables` filter, `qty`/`skip` apply per variable (TagoIO's SDK divides its page
 *   size by the number of variables for that reason); without one, to the whole result.
 *   The same holds for last/first/min/max: one record per requested variable.
 * - Dates: ISO 8601, "YYYY-MM-DD HH:mm:ss" (UTC), epoch milliseconds, or relative ("1 day",
 *   "3 months") counted back from now. `end_date` has no default: records stamped in the
 *   future (device clocks drift) stay visible.
 * - `aggregate` returns up to `qty` buckets per variable, 10 000 when `qty` is not given, since
 *   15 buckets would rarely be what a chart wants.
 * - The singular names TagoIO's docs and SDK examples use (`variable`, `group`, `serie(s)`,
 *   `id`, `value`) are read as their plural filters; `value` is the threshold for `conditional`.
 * - `query=downsample` (Sluice's, not TagoIO's): `buckets` equal time buckets over
 *   [`start_date`, `end_date`] (end: now when not given), each with min, max, average, count
 *   and its first and last record time, per variable, of numeric records; for a chart that
 *   should never ask for more points than it has pixels (docs/dashboards.md, "Downsampling").
 */
import { SluiceError } from "../errors.js";
import { parseQueryDate } from "./dates.js";
import type { RecordValue } from "./types.js";

export const DEFAULT_QTY = 15;
export const MAX_QTY = 10_000;
/** Most buckets one `query=downsample` may ask for (a 4K screen is 3 840 pixels wide). */
export const MAX_DOWNSAMPLE_BUCKETS = 10_000;
/**
 * The largest `skip` by default (config `data.maxSkip`). Skipped records are still walked, in
 * the index: 100 000 of them cost ~20 ms of SQLite. Deeper pages are reached with dates.
 */
export const DEFAULT_MAX_SKIP = 100_000;
/**
 * The largest page of records in bytes by default (config `data.maxPageBytes`). A record may
 * carry 6 KiB of value and 10 KiB of metadata, so 10 000 of them were ~150 MB of JSON read and
 * serialized in one synchronous go (~2 s of event loop). Past the bound the page is cut: it
 * holds the records that fit (at least one, per variable with a `variables` filter) and the
 * response says so with `X-Sluice-Truncated: bytes`; the next page is asked with `skip` as usual.
 */
export const DEFAULT_MAX_PAGE_BYTES = 8 * 1024 * 1024;

export interface DataQueryOptions {
  /** Largest `skip` accepted (default DEFAULT_MAX_SKIP); past it the query is refused (400). */
  maxSkip?: number;
  /**
   * Largest page of records, in bytes of its JSON (estimated from the stored columns); past it
   * the page is cut. Undefined = no bound in bytes (DELETE /data selects, it does not answer).
   */
  maxPageBytes?: number;
}

export type Ordination = "descending" | "ascending";
/** What `last_*` / `first_*` look for: any record, one with a value, one with a location, or by insertion. */
export type EdgeTarget = "item" | "value" | "location" | "insert";
export type AggregateInterval = "minute" | "hour" | "day" | "month" | "quarter" | "year";
export type AggregateFunction = "avg" | "sum" | "min" | "max";
export type Comparison = "gt" | "gte" | "lt" | "lte" | "eq" | "ne";

export interface DataFilter {
  variables?: string[];
  groups?: string[];
  ids?: string[];
  /** A string also matches the number or boolean it spells ("10" matches 10, "true" matches true). */
  values?: RecordValue[];
  start?: Date;
  end?: Date;
}

/** Whether a filter names nothing but variables (no group, id, value or time bound). */
export function onlyVariables(filter: DataFilter): boolean {
  return !filter.groups && !filter.ids && !filter.values && !filter.start && !filter.end;
}

export interface Page {
  qty: number;
  skip: number;
  ordination: Ordination;
}

interface Common {
  filter: DataFilter;
  /** Adds TagoIO's deprecated aliases (`origin`, `serie`) to each record. */
  details: boolean;
  /**
   * Records returned stop once their JSON would pass this many bytes (at least one record is
   * returned, one per variable when a `variables` filter pages each variable); none if undefined.
   */
  maxBytes?: number;
}

export type DataQuery = Common &
  (
    | { kind: "list"; page: Page }
    | { kind: "last" | "first"; target: EdgeTarget }
    | { kind: "min" | "max" | "count" }
    | { kind: "avg" | "sum" }
    | { kind: "aggregate"; interval: AggregateInterval; fn: AggregateFunction; page: Page }
    | { kind: "conditional"; fn: Comparison; value: number; page: Page }
    | { kind: "downsample"; buckets: number; start: Date; end: Date }
  );

const EDGE_KINDS = new Set(["last_item", "last_value", "last_location", "last_insert", "first_item", "first_value", "first_location", "first_insert"]);
const INTERVALS: readonly AggregateInterval[] = ["minute", "hour", "day", "month", "quarter", "year"];
const AGGREGATE_FUNCTIONS: readonly AggregateFunction[] = ["avg", "sum", "min", "max"];
const COMPARISONS: readonly Comparison[] = ["gt", "gte", "lt", "lte", "eq", "ne"];
const ALL_KINDS = ["default", ...EDGE_KINDS, "min", "max", "count", "avg", "sum", "aggregate", "conditional", "downsample"];

const invalidQuery = (message: string) => new SluiceError("INVALID_QUERY", message, 400);

/** Parses query-string options (strings, or lists of strings for `x[0]=a`) into a DataQuery. */
export function parseDataQuery(raw: Record<string, unknown>, now: Date, options: DataQueryOptions = {}): DataQuery {
  const maxSkip = options.maxSkip ?? DEFAULT_MAX_SKIP;
  const kind = optionalString(raw, "query") ?? "default";
  if (!ALL_KINDS.includes(kind)) throw invalidQuery(`query must be one of ${ALL_KINDS.join(", ")} (got "${kind}")`);
  const filter = parseFilter(raw, now, kind === "conditional");
  const details = parseBoolean(raw, "details");
  const common: Common = { filter, details, ...(options.maxPageBytes !== undefined && { maxBytes: options.maxPageBytes }) };

  if (kind === "default") return { ...common, kind: "list", page: parsePage(raw, DEFAULT_QTY, maxSkip) };
  if (EDGE_KINDS.has(kind)) {
    const [side, target] = kind.split("_") as ["last" | "first", EdgeTarget];
    return { ...common, kind: side, target };
  }
  if (kind === "min" || kind === "max" || kind === "count") return { ...common, kind };
  if (kind === "avg" || kind === "sum") {
    requireStart(filter, kind);
    return { ...common, kind };
  }
  if (kind === "downsample") {
    requireStart(filter, kind);
    const buckets = integer(raw, "buckets", 1, MAX_DOWNSAMPLE_BUCKETS);
    if (buckets === undefined) throw invalidQuery(`query=downsample needs buckets (1 to ${MAX_DOWNSAMPLE_BUCKETS}): how many points the chart shows`);
    const end = filter.end ?? now;
    if (end.getTime() < filter.start!.getTime()) throw invalidQuery("start_date must not be after end_date (or now, when end_date is not given)");
    return { ...common, kind, buckets, start: filter.start!, end };
  }
  if (kind === "aggregate") {
    return {
      ...common,
      kind,
      interval: oneOf(raw, "interval", INTERVALS),
      fn: oneOf(raw, "function", AGGREGATE_FUNCTIONS),
      page: parsePage(raw, MAX_QTY, maxSkip),
    };
  }
  requireStart(filter, kind);
  const text = optionalString(raw, "value")?.trim() ?? "";
  const threshold = Number(text);
  if (text === "" || !Number.isFinite(threshold)) throw invalidQuery("value must be a number for query=conditional");
  return { ...common, kind: "conditional", fn: oneOf(raw, "function", COMPARISONS), value: threshold, page: parsePage(raw, DEFAULT_QTY, maxSkip) };
}

function parseFilter(raw: Record<string, unknown>, now: Date, valueIsThreshold: boolean): DataFilter {
  const filter: DataFilter = {};
  const variables = stringList(raw, ["variables", "variable"]);
  if (variables) filter.variables = unique(variables.map((v) => v.toLowerCase()));
  const groups = stringList(raw, ["groups", "group", "series", "serie"]);
  if (groups) filter.groups = unique(groups);
  const ids = stringList(raw, ["ids", "id"]);
  if (ids) filter.ids = unique(ids);
  const values = stringList(raw, valueIsThreshold ? ["values"] : ["values", "value"]);
  if (values) filter.values = unique(values);
  const start = parseBound(raw, "start_date", now);
  const end = parseBound(raw, "end_date", now);
  if (start) filter.start = start;
  if (end) filter.end = end;
  if (start && end && start.getTime() > end.getTime()) throw invalidQuery("start_date must not be after end_date");
  return filter;
}

function parsePage(raw: Record<string, unknown>, defaultQty: number, maxSkip: number): Page {
  const ordination = optionalString(raw, "ordination")?.toLowerCase() ?? "descending";
  if (!["descending", "ascending", "desc", "asc"].includes(ordination)) throw invalidQuery('ordination must be "descending" or "ascending"');
  return {
    qty: integer(raw, "qty", 1, MAX_QTY) ?? defaultQty,
    skip: parseSkip(raw, maxSkip),
    ordination: ordination.startsWith("asc") ? "ascending" : "descending",
  };
}

function parseSkip(raw: Record<string, unknown>, maxSkip: number): number {
  const skip = integer(raw, "skip", 0, Number.MAX_SAFE_INTEGER) ?? 0;
  if (skip > maxSkip) {
    throw invalidQuery(`skip must be at most ${maxSkip} (data.maxSkip): for older records, narrow the query with start_date and end_date instead of skipping`);
  }
  return skip;
}

function requireStart(filter: DataFilter, kind: string): void {
  if (!filter.start) throw invalidQuery(`query=${kind} needs start_date`);
}

function parseBound(raw: Record<string, unknown>, key: string, now: Date): Date | undefined {
  const text = optionalString(raw, key);
  if (text === undefined || text.trim() === "") return undefined;
  const date = parseQueryDate(text, now);
  if (!date) throw invalidQuery(`${key} must be a date: ISO 8601, epoch milliseconds, or relative such as "1 day"`);
  return date;
}

/** The values of the first present key among `keys`, each a string or a list of strings. */
function stringList(raw: Record<string, unknown>, keys: string[]): string[] | undefined {
  const found: string[] = [];
  let present = false;
  for (const key of keys) {
    const value = raw[key];
    if (value === undefined) continue;
    present = true;
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (typeof item === "number" || typeof item === "boolean") found.push(String(item));
      else if (typeof item === "string") found.push(item);
      else throw invalidQuery(`${key} must be a string or a list of strings`);
    }
  }
  return present ? found : undefined;
}

function optionalString(raw: Record<string, unknown>, key: string): string | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw invalidQuery(`${key} must be given once, as a single value`);
}

function integer(raw: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const text = optionalString(raw, key);
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw invalidQuery(`${key} must be an integer from ${min} to ${max}`);
  return n;
}

function parseBoolean(raw: Record<string, unknown>, key: string): boolean {
  const text = optionalString(raw, key)?.toLowerCase();
  if (text === undefined || text === "" || text === "false" || text === "0") return false;
  if (text === "true" || text === "1") return true;
  throw invalidQuery(`${key} must be true or false`);
}

function oneOf<T extends string>(raw: Record<string, unknown>, key: string, allowed: readonly T[]): T {
  const text = optionalString(raw, key);
  if (text === undefined || !allowed.includes(text as T)) throw invalidQuery(`${key} must be one of ${allowed.join(", ")}`);
  return text as T;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
