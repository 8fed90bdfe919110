/**
 * A DataQuery against one bucket in PostgreSQL, kind by kind as data/sqlite/bucket_queries.ts
 * answers it in SQLite (see ../query.ts for what each kind means), so the two stores give the
 * same results. Every statement names `bucket = $1` and, per variable, walks the record index
 * (bucket, variable, time, seq) in the asked direction; a page across a bucket's variables is
 * their index ranges merged by the planner (UNION ALL under one ORDER BY: a Merge Append),
 * `skip` stepped over inside PostgreSQL on that index. Rows are fetched in growing chunks and
 * a page stops once its JSON would pass the byte bound, so a page never reads far past it.
 */
import type { Queryable } from "../../store/postgres/pool.js";
import { onlyVariables, type AggregateFunction, type AggregateInterval, type Comparison, type DataFilter, type DataQuery, type EdgeTarget, type Page } from "../query.js";
import { byTime, cutRows, PageCut, type Rows } from "../page_cut.js";
import { seqOf, rowJsonBytes, ValueType, type RecordRow } from "../sqlite/record_codec.js";
import type { AggregateBucket, DownsampleBucket, RecordValue } from "../types.js";
import { variablesOf } from "./last_values.js";

export type RowsResult =
  | { type: "rows"; rows: RecordRow[]; truncated?: boolean }
  | { type: "number"; value: number | null }
  | { type: "buckets"; buckets: AggregateBucket[] };

/** The record columns as read back; `pgRow` turns them into SQLite's RecordRow shape. */
export const PG_RECORD_COLUMNS = "seq, variable, time, vtype, num, str, unit, grp, lat, lng, metadata, created_at";

export interface PgRecordRow {
  seq: number; variable: string; time: number; vtype: ValueType; num: number | null; str: string | null; unit: string | null;
  grp: string; lat: number | null; lng: number | null; metadata: string | null; created_at: number;
}

export function pgRow(r: PgRecordRow): RecordRow {
  return {
    seq: r.seq, variable: r.variable, time: r.time, vtype: r.vtype, value: r.vtype === ValueType.String ? r.str : r.num,
    unit: r.unit, grp: r.grp, lat: r.lat, lng: r.lng, metadata: r.metadata, created_at: r.created_at,
  };
}

/** Positional parameters as a statement is built. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const COMPARISON_SQL: Record<Comparison, string> = { gt: ">", gte: ">=", lt: "<", lte: "<=", eq: "=", ne: "<>" };
const NUMERIC = `vtype = ${ValueType.Number}`;
const EDGE_CONDITION: Record<EdgeTarget, string | undefined> = {
  item: undefined,
  value: `vtype <> ${ValueType.None}`,
  location: "lat IS NOT NULL",
  insert: undefined,
};
/** Past this many variables a page across them is one statement over the bucket (sorted by PostgreSQL). */
export const MAX_MERGED_VARIABLES = 400;
const FIRST_CHUNK = 64;
const MAX_CHUNK = 2048;

/** The WHERE clause (without the keyword) selecting `filter` in `bucket`, and'ed with `extra`. */
export function whereFor(p: Params, bucket: number, filter: DataFilter, extra?: string): string {
  const clauses = [`bucket = ${p.add(bucket)}`];
  if (filter.variables?.length) {
    clauses.push(filter.variables.length === 1 ? `variable = ${p.add(filter.variables[0])}` : `variable = ANY(${p.add(filter.variables)}::text[])`);
  }
  if (filter.groups?.length) clauses.push(`grp = ANY(${p.add(filter.groups)}::text[])`);
  if (filter.ids) {
    const seqs = filter.ids.map(seqOf).filter((s): s is number => s !== undefined);
    clauses.push(seqs.length === 0 ? "false" : `seq = ANY(${p.add(seqs)}::bigint[])`);
  }
  if (filter.values?.length) clauses.push(valuesClause(p, filter.values));
  if (filter.start) clauses.push(`time >= ${p.add(filter.start.getTime())}`);
  if (filter.end) clauses.push(`time <= ${p.add(filter.end.getTime())}`);
  if (extra) clauses.push(extra);
  return clauses.join(" AND ");
}

/** A wanted value matches records of its own type, and a string also the number or boolean it spells. */
function valuesClause(p: Params, values: RecordValue[]): string {
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
  if (strings.size) parts.push(`(vtype = ${ValueType.String} AND str = ANY(${p.add([...strings])}::text[]))`);
  if (numbers.size) parts.push(`(vtype = ${ValueType.Number} AND num = ANY(${p.add([...numbers])}::float8[]))`);
  if (booleans.size) parts.push(`(vtype = ${ValueType.Boolean} AND num = ANY(${p.add([...booleans])}::float8[]))`);
  return `(${parts.join(" OR ")})`;
}

const FIXED_INTERVAL_MS: Partial<Record<AggregateInterval, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The start (epoch ms, UTC) of the interval holding `time`: arithmetic for fixed lengths, date_trunc in UTC for calendar ones. */
export function intervalStartSql(interval: AggregateInterval): string {
  const fixed = FIXED_INTERVAL_MS[interval];
  if (fixed !== undefined) return `(time - (((time % ${fixed}) + ${fixed}) % ${fixed}))`;
  return `(extract(epoch FROM date_trunc('${interval}', to_timestamp(time / 1000.0) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') * 1000)::bigint`;
}

interface Scope {
  filters: DataFilter[];
  overall: boolean;
}

export class PgBucketQueries {
  constructor(private readonly db: Queryable) {}

  async run(bucket: number, query: Exclude<DataQuery, { kind: "downsample" }>): Promise<RowsResult> {
    const { filter } = query;
    const budget = query.maxBytes ?? Number.POSITIVE_INFINITY;
    switch (query.kind) {
      case "list":
        return this.rowsResult(await this.list(bucket, filter, query.page, budget));
      case "conditional": {
        const value = query.value;
        const fn = COMPARISON_SQL[query.fn];
        return this.rowsResult(await this.list(bucket, filter, query.page, budget, (p) => `${NUMERIC} AND num ${fn} ${p.add(value)}`));
      }
      case "last":
      case "first":
        return this.rowsResult(cutRows(await this.edge(bucket, query.kind, query.target, filter), budget));
      case "min":
      case "max":
        return this.rowsResult(cutRows(await this.extreme(bucket, query.kind, filter), budget));
      case "count":
        return { type: "number", value: await this.count(bucket, filter) };
      case "avg":
      case "sum": {
        const { n, total } = await this.totals(bucket, filter, NUMERIC);
        return { type: "number", value: query.kind === "sum" ? total : n === 0 ? null : total / n };
      }
      case "aggregate":
        return { type: "buckets", buckets: await this.aggregate(bucket, filter, query.interval, query.fn, query.page) };
    }
  }

  /**
   * `query=downsample` in ONE statement: each numeric record falls in its time bucket by
   * `width_bucket` over the buckets' edges (downsampleEdges, exact integers), and PostgreSQL
   * groups by variable and bucket along the record index's ranges. Empty buckets are absent;
   * rows come in time order, then by variable.
   */
  async downsample(bucket: number, query: Extract<DataQuery, { kind: "downsample" }>, edges: number[]): Promise<DownsampleBucket[]> {
    const p = new Params();
    const rows = (await this.db.query(downsampleSql(p, bucket, query.filter, edges), p.values)).rows as
      { variable: string; b: number; mn: number; mx: number; total: number; n: number; first: number; last: number }[];
    return rows.map((r) => ({
      variable: r.variable, start: new Date(edges[r.b - 1]!), end: new Date(edges[r.b]!), min: r.mn, max: r.mx,
      avg: r.total / r.n, count: r.n, first: new Date(r.first), last: new Date(r.last),
    }));
  }

  private rowsResult({ rows, truncated }: Rows): RowsResult {
    return truncated ? { type: "rows", rows, truncated } : { type: "rows", rows };
  }

  private async scope(bucket: number, filter: DataFilter): Promise<Scope> {
    const one = (variable: string): DataFilter => ({ ...filter, variables: [variable] });
    if (filter.variables?.length) return { filters: filter.variables.map(one), overall: false };
    if (filter.ids || filter.groups) return { filters: [filter], overall: true };
    return { filters: (await variablesOf(this.db, bucket)).map(one), overall: true };
  }

  /**
   * Rows of one ordered statement, fetched in growing chunks (keyset: each chunk continues
   * after the last row's time and seq), until `limit` rows or `stop` says enough.
   */
  private async *ordered(bucket: number, f: DataFilter, dir: "ASC" | "DESC", skip: number, limit: number, extra?: (p: Params) => string): AsyncGenerator<RecordRow> {
    let after: RecordRow | undefined;
    let chunk = FIRST_CHUNK;
    let left = limit;
    while (left > 0) {
      const p = new Params();
      const conditions = [whereFor(p, bucket, f, extra?.(p))];
      if (after) conditions.push(`(time, seq) ${dir === "ASC" ? ">" : "<"} (${p.add(after.time)}, ${p.add(after.seq)})`);
      const take = Math.min(chunk, left);
      const rows = (await this.db.query(
        `SELECT ${PG_RECORD_COLUMNS} FROM data_records WHERE ${conditions.join(" AND ")} ORDER BY time ${dir}, seq ${dir} LIMIT ${p.add(take)} OFFSET ${p.add(after ? 0 : skip)}`,
        p.values,
      )).rows as PgRecordRow[];
      for (const r of rows) yield pgRow(r);
      if (rows.length < take) return;
      left -= rows.length;
      after = pgRow(rows[rows.length - 1]!);
      chunk = Math.min(chunk * 4, MAX_CHUNK);
    }
  }

  /** A page, one statement per filter, cut in bytes as data/sqlite/bucket_queries.ts `list` does. */
  private async list(bucket: number, filter: DataFilter, page: Page, budget: number, extra?: (p: Params) => string): Promise<Rows> {
    const dir = page.ordination === "ascending" ? "ASC" : "DESC";
    const { filters, overall } = await this.scope(bucket, filter);
    if (overall && filters.length > 1) return this.mergedList(bucket, filter, filters, page, budget, extra);
    const cut = new PageCut(budget, page.qty);
    const perFilter: RecordRow[][] = [];
    for (const f of filters) {
      const rows: RecordRow[] = [];
      const fits = cut.leg();
      for await (const row of this.ordered(bucket, f, dir, page.skip, cut.limit, extra)) {
        if (rows.length >= cut.limit || !fits(row, rows.length)) break;
        rows.push(row);
      }
      perFilter.push(rows);
    }
    const limit = cut.limit;
    const truncated = cut.truncated;
    const rows = perFilter.flatMap((r) => (r.length > limit ? r.slice(0, limit) : r));
    if (filters.length > 1) rows.sort(byTime(dir === "ASC" ? 1 : -1));
    return { rows, truncated };
  }

  /** The page's seqs from the variables' index ranges merged by PostgreSQL, then its rows by seq, cut in bytes. */
  private async mergedList(bucket: number, filter: DataFilter, filters: DataFilter[], page: Page, budget: number, extra?: (p: Params) => string): Promise<Rows> {
    const dir = page.ordination === "ascending" ? "ASC" : "DESC";
    const p = new Params();
    const { sql } = mergedPageSql(p, bucket, filter, filters, dir, extra);
    const order = `ORDER BY time ${dir}, seq ${dir} LIMIT ${p.add(page.qty)} OFFSET ${p.add(page.skip)}`;
    const seqs = ((await this.db.query(`${sql} ${order}`, p.values)).rows as { seq: number }[]).map((r) => r.seq);
    const rows: RecordRow[] = [];
    let pageBytes = 0;
    let chunk = FIRST_CHUNK;
    for (let from = 0; from < seqs.length; from += chunk, chunk = Math.min(chunk * 4, MAX_CHUNK)) {
      const part = seqs.slice(from, from + chunk);
      const bySeq = new Map<number, RecordRow>();
      const read = (await this.db.query(`SELECT ${PG_RECORD_COLUMNS} FROM data_records WHERE bucket = $1 AND seq = ANY($2::bigint[])`, [bucket, part])).rows as PgRecordRow[];
      for (const r of read) bySeq.set(r.seq, pgRow(r));
      for (const seq of part) {
        const row = bySeq.get(seq);
        if (!row) continue;
        pageBytes += rowJsonBytes(row);
        if (pageBytes > budget && rows.length > 0) return { rows, truncated: true };
        rows.push(row);
      }
    }
    return { rows, truncated: false };
  }

  private async edge(bucket: number, side: "last" | "first", target: EdgeTarget, filter: DataFilter): Promise<RecordRow[]> {
    if (side === "last" && onlyVariables(filter)) {
      if (!filter.variables?.length) return this.all(lastOfBucketSql(target), [bucket]);
      const rows: RecordRow[] = [];
      for (const v of filter.variables) rows.push(...(await this.all(lastByVariableSql(target), [bucket, v])));
      return rows;
    }
    const sign = side === "last" ? -1 : 1;
    const dir = sign === 1 ? "ASC" : "DESC";
    const order = target === "insert" ? `seq ${dir}` : `time ${dir}, seq ${dir}`;
    const { filters, overall } = await this.scope(bucket, filter);
    const rows: RecordRow[] = [];
    for (const f of filters) {
      const p = new Params();
      rows.push(...(await this.all(`SELECT ${PG_RECORD_COLUMNS} FROM data_records WHERE ${whereFor(p, bucket, f, EDGE_CONDITION[target])} ORDER BY ${order} LIMIT 1`, p.values)));
    }
    if (!overall || rows.length <= 1) return rows;
    return [rows.sort(target === "insert" ? (a, b) => (a.seq - b.seq) * sign : byTime(sign))[0]!];
  }

  private async extreme(bucket: number, kind: "min" | "max", filter: DataFilter): Promise<RecordRow[]> {
    const sign = kind === "min" ? 1 : -1;
    const { filters, overall } = await this.scope(bucket, filter);
    const rows: RecordRow[] = [];
    for (const f of filters) {
      const p = new Params();
      rows.push(...(await this.all(
        `SELECT ${PG_RECORD_COLUMNS} FROM data_records WHERE ${whereFor(p, bucket, f, NUMERIC)} ORDER BY num ${sign === 1 ? "ASC" : "DESC"}, time DESC, seq DESC LIMIT 1`,
        p.values,
      )));
    }
    if (!overall || rows.length <= 1) return rows;
    return [rows.sort((a, b) => ((a.value as number) - (b.value as number)) * sign || b.time - a.time || b.seq - a.seq)[0]!];
  }

  private async count(bucket: number, filter: DataFilter): Promise<number> {
    if (onlyVariables(filter) && !filter.variables) {
      return ((await this.db.query("SELECT records FROM data_buckets WHERE id = $1", [bucket])).rows[0] as { records: number } | undefined)?.records ?? 0;
    }
    return (await this.totals(bucket, filter, undefined)).n;
  }

  private async totals(bucket: number, filter: DataFilter, extra: string | undefined): Promise<{ n: number; total: number }> {
    // One statement: the variables' ranges appended, summed once.
    const p = new Params();
    const where = whereFor(p, bucket, filter, extra);
    const row = (await this.db.query(`SELECT count(*) AS n, coalesce(sum(num), 0) AS total FROM data_records WHERE ${where}`, p.values)).rows[0] as { n: number; total: number };
    return { n: row.n, total: row.total };
  }

  private async aggregate(bucket: number, filter: DataFilter, interval: AggregateInterval, fn: AggregateFunction, page: Page): Promise<AggregateBucket[]> {
    const dir = page.ordination === "ascending" ? "ASC" : "DESC";
    const start = intervalStartSql(interval);
    const { filters, overall } = await this.scope(bucket, filter);
    const merged = overall && filters.length > 1;
    const rows: { variable: string; t: number; v: number }[] = [];
    for (const f of filters) {
      const p = new Params();
      const where = whereFor(p, bucket, f, NUMERIC);
      rows.push(...((await this.db.query(
        `SELECT variable, ${start} AS t, ${fn}(num) AS v FROM data_records WHERE ${where}
         GROUP BY variable, t ORDER BY t ${dir}, variable LIMIT ${p.add(merged ? page.qty + page.skip : page.qty)} OFFSET ${p.add(merged ? 0 : page.skip)}`,
        p.values,
      )).rows as { variable: string; t: number; v: number }[]));
    }
    const sign = dir === "ASC" ? 1 : -1;
    if (filters.length > 1) rows.sort((a, b) => (a.t - b.t) * sign || (a.variable < b.variable ? -1 : 1));
    return (merged ? rows.slice(page.skip, page.skip + page.qty) : rows).map((r) => ({ variable: r.variable, time: new Date(r.t), value: r.v }));
  }

  private async all(sql: string, params: unknown[]): Promise<RecordRow[]> {
    return ((await this.db.query(sql, params)).rows as PgRecordRow[]).map(pgRow);
  }
}

const JOINED_COLUMNS = PG_RECORD_COLUMNS.split(", ").map((c) => `r.${c}`).join(", ");

/**
 * The statement behind `lastValue` and unfiltered last_*: data_last by primary key, then the
 * record by bucket and seq (and its time where data_last keeps it, so only one partition is read).
 */
export function lastByVariableSql(target: EdgeTarget): string {
  const time = target === "insert" ? "" : ` AND r.time = l.${target}_time`;
  return `SELECT ${JOINED_COLUMNS} FROM data_last l JOIN data_records r ON r.bucket = l.bucket AND r.seq = l.${target}_seq${time}
    WHERE l.bucket = $1 AND l.variable = $2`;
}

function lastOfBucketSql(target: EdgeTarget): string {
  const time = target === "insert" ? "" : ` AND r.time = l.${target}_time`;
  const order = target === "insert" ? "l.insert_seq DESC" : `l.${target}_time DESC, l.${target}_seq DESC`;
  return `SELECT ${JOINED_COLUMNS} FROM data_last l JOIN data_records r ON r.bucket = l.bucket AND r.seq = l.${target}_seq${time}
    WHERE l.bucket = $1 ORDER BY ${order} LIMIT 1`;
}

/**
 * The statement behind `query=downsample` (see PgBucketQueries.downsample): every numeric record
 * of the range in its time bucket by `width_bucket` over the edges, grouped by variable and
 * bucket. Exported so tests can EXPLAIN it.
 */
export function downsampleSql(p: Params, bucket: number, filter: DataFilter, edges: number[]): string {
  const where = whereFor(p, bucket, { ...filter, start: undefined, end: undefined }, NUMERIC);
  const e = p.add(edges);
  return `SELECT variable, width_bucket(time, ${e}::bigint[]) AS b, min(num) AS mn, max(num) AS mx, sum(num) AS total, count(*) AS n,
            min(time) AS first, max(time) AS last
     FROM data_records WHERE ${where} AND time >= ${p.add(edges[0])} AND time < ${p.add(edges[edges.length - 1])}
     GROUP BY variable, b ORDER BY b, variable`;
}

/**
 * The seqs of a page across a bucket's variables, without its outer ORDER BY and LIMIT: one leg
 * per variable, each ordered itself, under UNION ALL. Ordered legs are what lets PostgreSQL
 * merge them (Merge Append over backward index scans, reading about skip + qty index entries);
 * unordered legs under one ORDER BY make it sort the whole bucket (measured: 0.6 ms against
 * 350 ms for skip=1000 over 300 000 records). Exported so tests can EXPLAIN it.
 */
export function mergedPageSql(p: Params, bucket: number, filter: DataFilter, filters: DataFilter[], dir: "ASC" | "DESC", extra?: (p: Params) => string): { sql: string } {
  if (filters.length > MAX_MERGED_VARIABLES) return { sql: `SELECT seq, time FROM data_records WHERE ${whereFor(p, bucket, filter, extra?.(p))}` };
  const legs = filters.map((f) => `(SELECT seq, time FROM data_records WHERE ${whereFor(p, bucket, f, extra?.(p))} ORDER BY time ${dir}, seq ${dir})`);
  return { sql: legs.join(" UNION ALL ") };
}

