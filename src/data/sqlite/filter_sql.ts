/**
 * DataFilter → SQL over `data_records`. Every clause starts with `bucket = ?` so that one of
 * the bucket-prefixed indexes always applies; the planner picks which (by variable when one
 * variable is asked for, by time otherwise, by group for group lookups).
 */
import type { AggregateInterval, Comparison, DataFilter } from "../query.js";
import type { RecordValue } from "../types.js";
import { seqOf, ValueType } from "./record_codec.js";

export type SqlParam = string | number;

export interface Where {
  sql: string;
  params: SqlParam[];
}

/**
 * The FROM source for `filter`. A group is usually one batch (a handful of records), so group
 * lookups use the group index; without table statistics the planner would rather walk the
 * time index to save a sort, which means scanning a long bucket for an old group.
 */
export function sourceFor(filter: DataFilter): string {
  return filter.groups?.length && !filter.ids ? "data_records INDEXED BY data_records_by_group" : "data_records";
}

/** The WHERE clause (without the keyword) selecting `filter` in `bucket`, and'ed with `extra`. */
export function whereFor(bucket: number, filter: DataFilter, extra?: Where): Where {
  const clauses = ["bucket = ?"];
  const params: SqlParam[] = [bucket];
  const inList = (column: string, items: SqlParam[]) => {
    clauses.push(`${column} IN (${items.map(() => "?").join(", ")})`);
    params.push(...items);
  };
  if (filter.variables?.length) inList("variable", filter.variables);
  if (filter.groups?.length) inList("grp", filter.groups);
  if (filter.ids) {
    const seqs = filter.ids.map(seqOf).filter((s): s is number => s !== undefined);
    // An id list that names none of ours selects nothing (not everything).
    if (seqs.length === 0) clauses.push("0");
    else inList("seq", seqs);
  }
  if (filter.values?.length) {
    const values = valuesClause(filter.values);
    clauses.push(values.sql);
    params.push(...values.params);
  }
  if (filter.start) {
    clauses.push("time >= ?");
    params.push(filter.start.getTime());
  }
  if (filter.end) {
    clauses.push("time <= ?");
    params.push(filter.end.getTime());
  }
  if (extra) {
    clauses.push(extra.sql);
    params.push(...extra.params);
  }
  return { sql: clauses.join(" AND "), params };
}

/** A wanted value matches records of its own type, and a string also the number or boolean it spells. */
function valuesClause(values: RecordValue[]): Where {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const booleans = new Set<number>();
  for (const v of values) {
    if (typeof v === "number") numbers.add(v);
    else if (typeof v === "boolean") booleans.add(v ? 1 : 0);
    else {
      strings.add(v);
      if (v.trim() !== "" && Number.isFinite(Number(v))) numbers.add(Number(v));
      if (v === "true" || v === "false") booleans.add(v === "true" ? 1 : 0);
    }
  }
  const parts: string[] = [];
  const params: SqlParam[] = [];
  const add = (type: ValueType, set: Set<SqlParam>) => {
    if (set.size === 0) return;
    parts.push(`(vtype = ${type} AND value IN (${[...set].map(() => "?").join(", ")}))`);
    params.push(...set);
  };
  add(ValueType.String, strings);
  add(ValueType.Number, numbers);
  add(ValueType.Boolean, booleans);
  return { sql: `(${parts.join(" OR ")})`, params };
}

export const COMPARISON_SQL: Record<Comparison, string> = { gt: ">", gte: ">=", lt: "<", lte: "<=", eq: "=", ne: "<>" };

const FIXED_INTERVAL_MS: Partial<Record<AggregateInterval, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * The start (epoch ms, UTC) of the interval holding `time`. Fixed-length intervals are
 * arithmetic (floored, so times before 1970 land right too); calendar ones use SQLite's date
 * modifiers. A quarter starts at the month start minus (month - 1) % 3 months.
 */
export function intervalStartSql(interval: AggregateInterval): string {
  const fixed = FIXED_INTERVAL_MS[interval];
  if (fixed !== undefined) return `(time - (((time % ${fixed}) + ${fixed}) % ${fixed}))`;
  const seconds = "(time / 1000)";
  const modifiers: Record<string, string> = {
    month: "'start of month'",
    quarter: `'start of month', '-' || ((CAST(strftime('%m', ${seconds}, 'unixepoch') AS INTEGER) - 1) % 3) || ' months'`,
    year: "'start of year'",
  };
  return `(CAST(strftime('%s', ${seconds}, 'unixepoch', ${modifiers[interval]}) AS INTEGER) * 1000)`;
}
