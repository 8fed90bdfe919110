/**
 * The Data tab's query form as data: every query kind of `GET /device/:id/data`
 * (src/data/query.ts), the form ↔ the console's address (so a filtered view can be reloaded and
 * shared), the form → the API's query options, and paging.
 *
 * Paging: the API bounds `skip` (data.maxSkip, 100 000 by default), and a device may hold
 * millions of records, so record lists page by time instead ("keyset"): the next page ends
 * (descending) or starts (ascending) at the last record's time, skipping the records of that
 * same millisecond already shown. Ties are ordered by insertion in the API, so this walks the
 * whole bucket with each record exactly once. With several variables the API applies qty and
 * skip per variable, which a single time edge cannot follow: those lists page by `skip`.
 */
import type { QueryValue } from "../../../api/client.js";

export type QueryKind =
  | "default"
  | "last_item" | "last_value" | "last_location" | "last_insert"
  | "first_item" | "first_value" | "first_location" | "first_insert"
  | "min" | "max" | "count" | "avg" | "sum" | "aggregate" | "conditional";

export type ResultShape = "records" | "number" | "buckets";

export interface KindInfo {
  kind: QueryKind;
  label: string;
  shape: ResultShape;
  /** Pages of `qty` (default, conditional, aggregate); the others answer a few records or a number. */
  paged: boolean;
  /** The API refuses it without start_date. */
  needsStart?: boolean;
}

export const QUERY_KINDS: readonly KindInfo[] = [
  { kind: "default", label: "Records (list)", shape: "records", paged: true },
  { kind: "last_item", label: "Last record (per variable)", shape: "records", paged: false },
  { kind: "last_value", label: "Last record with a value", shape: "records", paged: false },
  { kind: "last_location", label: "Last record with a location", shape: "records", paged: false },
  { kind: "last_insert", label: "Last inserted record", shape: "records", paged: false },
  { kind: "first_item", label: "First record (per variable)", shape: "records", paged: false },
  { kind: "first_value", label: "First record with a value", shape: "records", paged: false },
  { kind: "first_location", label: "First record with a location", shape: "records", paged: false },
  { kind: "first_insert", label: "First inserted record", shape: "records", paged: false },
  { kind: "min", label: "Minimum value", shape: "records", paged: false },
  { kind: "max", label: "Maximum value", shape: "records", paged: false },
  { kind: "count", label: "Count", shape: "number", paged: false },
  { kind: "avg", label: "Average", shape: "number", paged: false, needsStart: true },
  { kind: "sum", label: "Sum", shape: "number", paged: false, needsStart: true },
  { kind: "aggregate", label: "Aggregate by interval", shape: "buckets", paged: true },
  { kind: "conditional", label: "Records compared to a value", shape: "records", paged: true, needsStart: true },
];

export const INTERVALS = ["minute", "hour", "day", "month", "quarter", "year"] as const;
export const AGGREGATE_FUNCTIONS = ["avg", "sum", "min", "max"] as const;
export const COMPARISONS = [
  { fn: "gt", label: "greater than" },
  { fn: "gte", label: "greater than or equal" },
  { fn: "lt", label: "less than" },
  { fn: "lte", label: "less than or equal" },
  { fn: "eq", label: "equal to" },
  { fn: "ne", label: "not equal to" },
] as const;
export const PAGE_SIZES = [25, 50, 100, 250] as const;

/** Every field as typed (text), so what the user wrote reaches the API, which words any error. */
export interface DataForm {
  kind: QueryKind;
  /** Comma-separated lists. */
  variables: string;
  groups: string;
  ids: string;
  values: string;
  /** Dates as the API reads them: ISO 8601, "YYYY-MM-DD HH:mm:ss" (UTC), epoch ms, or "1 day". */
  start: string;
  end: string;
  ordination: "descending" | "ascending";
  qty: string;
  interval: string;
  aggregate: string;
  comparison: string;
  threshold: string;
}

export const EMPTY_FORM: DataForm = {
  kind: "default", variables: "", groups: "", ids: "", values: "", start: "", end: "",
  ordination: "descending", qty: "50", interval: "hour", aggregate: "avg", comparison: "gt", threshold: "",
};

const FORM_KEYS = Object.keys(EMPTY_FORM) as (keyof DataForm)[];

export function kindInfo(kind: QueryKind): KindInfo {
  return QUERY_KINDS.find((k) => k.kind === kind) ?? QUERY_KINDS[0]!;
}

/** "a, b,,c " → ["a", "b", "c"]. */
export function splitList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** The form kept in the address after `?` (only fields that differ from the empty form). */
export function formToSearch(form: DataForm): string {
  const params = new URLSearchParams();
  for (const key of FORM_KEYS) if (form[key] !== EMPTY_FORM[key]) params.set(key, form[key]);
  return params.toString();
}

export function formFromSearch(search: URLSearchParams): DataForm {
  const form: DataForm = { ...EMPTY_FORM };
  for (const key of FORM_KEYS) {
    const value = search.get(key);
    if (value !== null) (form as unknown as Record<string, string>)[key] = value;
  }
  if (!QUERY_KINDS.some((k) => k.kind === form.kind)) form.kind = "default";
  if (form.ordination !== "ascending") form.ordination = "descending";
  return form;
}

/** The filter alone (what selects records): for counting, deleting and exporting. */
export function filterQuery(form: DataForm): Record<string, QueryValue> {
  const query: Record<string, QueryValue> = {};
  const lists: [keyof DataForm, string][] = [["variables", "variables"], ["groups", "groups"], ["ids", "ids"], ["values", "values"]];
  for (const [field, name] of lists) {
    const items = splitList(form[field]);
    if (items.length > 0) query[name] = items;
  }
  if (form.start.trim() !== "") query.start_date = form.start.trim();
  if (form.end.trim() !== "") query.end_date = form.end.trim();
  return query;
}

/** Where a page starts: a time edge (keyset) and how many records to pass over there. */
export interface Cursor {
  edge?: string;
  skip: number;
}

export const FIRST_PAGE: Cursor = { skip: 0 };

/** How a kind's pages advance for this form. */
export function pagingOf(form: DataForm): "keyset" | "skip" | "none" {
  const info = kindInfo(form.kind);
  if (!info.paged) return "none";
  if (form.kind === "default" && splitList(form.variables).length <= 1) return "keyset";
  return "skip";
}

export function pageSize(form: DataForm): number {
  const n = Number(form.qty);
  return Number.isInteger(n) && n > 0 ? n : 50;
}

/** The full query for one page of the form's kind. */
export function apiQuery(form: DataForm, cursor: Cursor = FIRST_PAGE): Record<string, QueryValue> {
  const query: Record<string, QueryValue> = { query: form.kind, ...filterQuery(form) };
  const paging = pagingOf(form);
  if (paging !== "none") {
    query.ordination = form.ordination;
    query.qty = form.qty.trim();
    if (cursor.skip > 0) query.skip = cursor.skip;
    if (cursor.edge !== undefined) query[form.ordination === "descending" ? "end_date" : "start_date"] = cursor.edge;
  }
  if (form.kind === "aggregate") {
    query.interval = form.interval;
    query.function = form.aggregate;
  }
  if (form.kind === "conditional") {
    query.function = form.comparison;
    query.value = form.threshold;
  }
  return query;
}

/** The page after the one that started at `cursor` and held `rows` (in the API's order). */
export function nextCursor(form: DataForm, cursor: Cursor, rows: readonly { time: string }[]): Cursor {
  // qty and skip count per variable (and per variable's buckets for aggregate): a page moves each by qty.
  if (pagingOf(form) !== "keyset") return { skip: cursor.skip + pageSize(form) };
  return keysetAfter(cursor, rows);
}

/** Keyset step: the last row's time becomes the edge; rows of that same millisecond are skipped. */
export function keysetAfter(cursor: Cursor, rows: readonly { time: string }[]): Cursor {
  const last = rows[rows.length - 1];
  if (!last) return cursor;
  const edge = last.time;
  let atEdge = 0;
  for (let i = rows.length - 1; i >= 0 && rows[i]!.time === edge; i--) atEdge++;
  // A page all at the edge's millisecond: the records skipped before it are still there.
  const before = cursor.edge !== undefined && Date.parse(cursor.edge) === Date.parse(edge) ? cursor.skip : 0;
  return { edge, skip: before + atEdge };
}

/** Whether more pages may follow one that held `count` rows: the API returns fewer than qty at the end. */
export function mayHaveMore(form: DataForm, count: number): boolean {
  return pagingOf(form) !== "none" && count >= pageSize(form);
}
