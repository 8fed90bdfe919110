/**
 * Runs a DataQuery against one bucket (see ../query.ts for what each kind means).
 *
 * The only record index is (bucket, variable, time) (see migration 3 for why), so a query
 * runs as one statement per variable, each an index range walked in the asked direction with
 * a LIMIT. With a `variables` filter those are the asked variables, each with its own qty;
 * without one, the bucket's variables (listed by data_last), merged into one result. Filters
 * by ids or groups already narrow to a few rows, so they run as one statement. last_* without
 * other filters read data_last. Summaries (min, max, avg, sum, aggregate, filtered count) visit
 * every record they summarize, within the variables' date ranges.
 */
import type { Database, Statement } from "better-sqlite3";
import { onlyVariables, type AggregateFunction, type AggregateInterval, type DataFilter, type DataQuery, type EdgeTarget, type Page } from "../query.js";
import type { AggregateBucket } from "../types.js";
import { COMPARISON_SQL, intervalStartSql, sourceFor, whereFor, type SqlParam, type Where } from "./filter_sql.js";
import type { LastValues } from "./last_values.js";
import { byTime, cutRows, PageCut, type Rows } from "../page_cut.js";
import { RECORD_COLUMNS, rowJsonBytes, ValueType, type RecordRow } from "./record_codec.js";

/** `truncated`: the rows were cut at the query's `maxBytes`; more were within `qty`. */
export type RowsResult =
  | { type: "rows"; rows: RecordRow[]; truncated?: boolean }
  | { type: "number"; value: number | null }
  | { type: "buckets"; buckets: AggregateBucket[] };

const JOINED_COLUMNS = RECORD_COLUMNS.split(", ").map((c) => `r.${c}`).join(", ");
const NUMERIC: Where = { sql: `vtype = ${ValueType.Number}`, params: [] };
const EDGE_CONDITION: Record<EdgeTarget, Where | undefined> = {
  item: undefined,
  value: { sql: `vtype <> ${ValueType.None}`, params: [] },
  location: { sql: "lat IS NOT NULL", params: [] },
  insert: undefined,
};

/** The statement behind `lastValue` and unfiltered last_* (exported so tests can EXPLAIN it). */
export function lastByVariableSql(target: EdgeTarget): string {
  return `SELECT ${JOINED_COLUMNS} FROM data_last l JOIN data_records r ON r.seq = l.${target}_seq WHERE l.bucket = ? AND l.variable = ?`;
}

function lastOfBucketSql(target: EdgeTarget): string {
  const order = target === "insert" ? "l.insert_seq DESC" : `l.${target}_time DESC, l.${target}_seq DESC`;
  return `SELECT ${JOINED_COLUMNS} FROM data_last l JOIN data_records r ON r.seq = l.${target}_seq WHERE l.bucket = ? ORDER BY ${order} LIMIT 1`;
}

/**
 * SQLite refuses a compound SELECT of more than 500 terms; past this many variables the page is
 * taken from one statement over the bucket instead, which SQLite sorts itself (a bounded sorter:
 * memory for qty + skip rows, time for every record of the bucket).
 */
export const MAX_MERGED_VARIABLES = 400;

/**
 * The statement behind a page of a bucket's records across its variables (no `variables`
 * filter): the seqs of the page, in order; its last two parameters are LIMIT and OFFSET.
 * Exported so that tests can EXPLAIN it.
 */
export function mergedPageSql(bucket: number, filter: DataFilter, filters: DataFilter[], dir: "ASC" | "DESC", extra?: Where): Where {
  const order = `ORDER BY time ${dir}, seq ${dir} LIMIT ? OFFSET ?`;
  if (filters.length > MAX_MERGED_VARIABLES) {
    const where = whereFor(bucket, filter, extra);
    return { sql: `SELECT seq, time FROM data_records WHERE ${where.sql} ${order}`, params: where.params };
  }
  const legs = filters.map((f) => whereFor(bucket, f, extra));
  return {
    sql: `${legs.map((where) => `SELECT seq, time FROM data_records WHERE ${where.sql}`).join(" UNION ALL ")} ${order}`,
    params: legs.flatMap((where) => where.params),
  };
}

/** What `downsampleSql` answers for one time bucket (`n` 0: no numeric record in it). */
export interface DownsampleRow {
  mn: number | null;
  mx: number | null;
  total: number;
  n: number;
  first: number | null;
  last: number | null;
}

/**
 * The statement behind one time bucket of `query=downsample`, for one variable: its last two
 * parameters are the bucket's [from, to) in epoch ms. It names the record index: the range is
 * a seek and a walk of (bucket, variable, time), each row then read for its value. With table
 * statistics (ANALYZE) the planner may prefer a full scan when one bucket holds most of the
 * table, which is never cheaper for a small time range. Exported so tests can EXPLAIN it.
 */
export function downsampleSql(bucket: number, filter: DataFilter): Where {
  const where = whereFor(bucket, { ...filter, start: undefined, end: undefined }, NUMERIC);
  return {
    sql: `SELECT min(value) AS mn, max(value) AS mx, total(value) AS total, count(*) AS n, min(time) AS first, max(time) AS last
      FROM data_records INDEXED BY data_records_by_variable WHERE ${where.sql} AND time >= ? AND time < ?`,
    params: where.params,
  };
}

/**
 * The edges of `buckets` equal time buckets over [start, end] (epoch ms, both included):
 * `buckets + 1` numbers, bucket i being [edges[i], edges[i + 1]). The span is end - start + 1
 * ms and edge i is start + floor(i × span / buckets), computed exactly; there are never more
 * buckets than milliseconds, so none is empty by construction.
 */
export function downsampleEdges(start: number, end: number, buckets: number): number[] {
  const span = BigInt(end - start + 1);
  const n = BigInt(Math.max(1, Math.min(buckets, end - start + 1)));
  const edges: number[] = [];
  for (let i = 0n; i <= n; i++) edges.push(start + Number((i * span) / n));
  return edges;
}

/** How a filter runs: its statements' filters, and whether their results form one result. */
interface Scope {
  filters: DataFilter[];
  /** No `variables` filter: qty, skip, last/first and min/max apply to the whole result. */
  overall: boolean;
}

const MAX_CACHED_STATEMENTS = 256;
/** Rows read by seq at a time for a page across variables, cut in bytes as they come. */
const PAGE_CHUNK = 64;

export class BucketQueries {
  // Statement text varies with the filter's list lengths; preparing costs more than running a
  // small query, so the recent ones are kept.
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly db: Database,
    private readonly last: LastValues,
  ) {}

  run(bucket: number, query: DataQuery): RowsResult {
    const { filter } = query;
    const budget = query.maxBytes ?? Number.POSITIVE_INFINITY;
    switch (query.kind) {
      case "list":
        return this.rows(this.list(bucket, filter, query.page, budget));
      case "conditional":
        return this.rows(
          this.list(bucket, filter, query.page, budget, { sql: `${NUMERIC.sql} AND value ${COMPARISON_SQL[query.fn]} ?`, params: [query.value] }),
        );
      case "last":
      case "first":
        return this.rows(cutRows(this.edge(bucket, query.kind, query.target, filter), budget));
      case "min":
      case "max":
        return this.rows(cutRows(this.extreme(bucket, query.kind, filter), budget));
      case "count":
        return { type: "number", value: this.count(bucket, filter) };
      case "avg":
      case "sum":
        return { type: "number", value: this.avgSum(bucket, query.kind, filter) };
      case "aggregate":
        return { type: "buckets", buckets: this.aggregate(bucket, filter, query.interval, query.fn, query.page) };
      case "downsample":
        // Runs bucket by bucket, yielding between them: SqliteBucketStore.downsample.
        throw new Error("query=downsample runs through SqliteBucketStore.downsample");
    }
  }

  /** The variables a downsample covers: those asked for, else every variable of the bucket. */
  variablesOf(bucket: number, filter: DataFilter): string[] {
    return filter.variables?.length ? filter.variables : this.last.variables(bucket);
  }

  /** One time bucket of one variable (`downsampleSql`): its numeric records' summary. */
  downsampleStep(bucket: number, variable: string, filter: DataFilter, from: number, to: number): DownsampleRow {
    const { sql, params } = downsampleSql(bucket, { ...filter, variables: [variable] });
    return this.get<DownsampleRow>(sql, [...params, from, to])!;
  }

  private rows({ rows, truncated }: Rows): RowsResult {
    return truncated ? { type: "rows", rows, truncated } : { type: "rows", rows };
  }

  private scope(bucket: number, filter: DataFilter): Scope {
    const one = (variable: string): DataFilter => ({ ...filter, variables: [variable] });
    if (filter.variables?.length) return { filters: filter.variables.map(one), overall: false };
    if (filter.ids || filter.groups) return { filters: [filter], overall: true };
    return { filters: this.last.variables(bucket).map(one), overall: true };
  }

  /**
   * A page, one statement per filter (per variable with a `variables` filter, each with its own
   * qty and skip). Rows are read one by one (the statement's iterator) and the page stops once
   * its JSON would pass `budget` bytes. With several variables each is cut at the same count k
   * (the largest whose k first rows of every variable fit), so `skip + k` is every variable's
   * next page: a variable is read at most up to the count the previous ones left.
   */
  private list(bucket: number, filter: DataFilter, page: Page, budget: number, extra?: Where): Rows {
    const dir = page.ordination === "ascending" ? "ASC" : "DESC";
    const { filters, overall } = this.scope(bucket, filter);
    if (overall && filters.length > 1) return this.mergedList(bucket, filter, filters, page, budget, extra);
    const cut = new PageCut(budget, page.qty);
    const perFilter: RecordRow[][] = [];
    for (const f of filters) {
      const where = whereFor(bucket, f, extra);
      const sql = `SELECT ${RECORD_COLUMNS} FROM ${sourceFor(f)} WHERE ${where.sql} ORDER BY time ${dir}, seq ${dir} LIMIT ? OFFSET ?`;
      const rows: RecordRow[] = [];
      const fits = cut.leg();
      // Leaving the loop closes the iterator: nothing past the cut is read.
      for (const row of this.iterate<RecordRow>(sql, [...where.params, cut.limit, page.skip])) {
        if (!fits(row, rows.length)) break;
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

  /**
   * One page of the whole bucket's records across its variables. SQLite merges the variables'
   * index ranges (a compound SELECT's ORDER BY is a merge of ordered legs) and applies LIMIT and
   * OFFSET to the merged stream: `skip` rows are stepped over inside SQLite on the covering
   * index (seq and time only), never materialized; then the page's rows are read by seq. It
   * used to take qty + skip rows of every variable into JS and sort them: `skip=9e12` on
   * 480 000 records took 1.8 s and 200 MiB.
   */
  private mergedList(bucket: number, filter: DataFilter, filters: DataFilter[], page: Page, budget: number, extra: Where | undefined): Rows {
    const dir = page.ordination === "ascending" ? "ASC" : "DESC";
    const { sql, params } = mergedPageSql(bucket, filter, filters, dir, extra);
    const seqs = this.all<{ seq: number }>(sql, [...params, page.qty, page.skip]).map((r) => r.seq);
    // The page's rows are read by seq in chunks, in the page's order, until the bytes pass.
    const rows: RecordRow[] = [];
    let pageBytes = 0;
    for (let from = 0; from < seqs.length; from += PAGE_CHUNK) {
      const chunk = seqs.slice(from, from + PAGE_CHUNK);
      const bySeq = new Map<number, RecordRow>();
      for (const row of this.all<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM data_records WHERE seq IN (SELECT value FROM json_each(?))`, [JSON.stringify(chunk)])) {
        bySeq.set(row.seq, row);
      }
      for (const seq of chunk) {
        const row = bySeq.get(seq);
        if (!row) continue;
        pageBytes += rowJsonBytes(row);
        if (pageBytes > budget && rows.length > 0) return { rows, truncated: true };
        rows.push(row);
      }
    }
    return { rows, truncated: false };
  }

  private edge(bucket: number, side: "last" | "first", target: EdgeTarget, filter: DataFilter): RecordRow[] {
    if (side === "last" && onlyVariables(filter)) {
      if (!filter.variables?.length) return this.all<RecordRow>(lastOfBucketSql(target), [bucket]);
      return filter.variables.flatMap((v) => this.all<RecordRow>(lastByVariableSql(target), [bucket, v]));
    }
    const sign = side === "last" ? -1 : 1;
    const dir = sign === 1 ? "ASC" : "DESC";
    const order = target === "insert" ? `seq ${dir}` : `time ${dir}, seq ${dir}`;
    const { filters, overall } = this.scope(bucket, filter);
    const rows = filters.flatMap((f) => {
      const where = whereFor(bucket, f, EDGE_CONDITION[target]);
      return this.all<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM ${sourceFor(f)} WHERE ${where.sql} ORDER BY ${order} LIMIT 1`, where.params);
    });
    if (!overall || rows.length <= 1) return rows;
    return [rows.sort(target === "insert" ? (a, b) => (a.seq - b.seq) * sign : byTime(sign))[0]!];
  }

  private extreme(bucket: number, kind: "min" | "max", filter: DataFilter): RecordRow[] {
    const sign = kind === "min" ? 1 : -1;
    const { filters, overall } = this.scope(bucket, filter);
    const rows = filters.flatMap((f) => {
      const where = whereFor(bucket, f, NUMERIC);
      return this.all<RecordRow>(
        `SELECT ${RECORD_COLUMNS} FROM ${sourceFor(f)} WHERE ${where.sql} ORDER BY value ${sign === 1 ? "ASC" : "DESC"}, time DESC, seq DESC LIMIT 1`,
        where.params,
      );
    });
    if (!overall || rows.length <= 1) return rows;
    return [rows.sort((a, b) => ((a.value as number) - (b.value as number)) * sign || b.time - a.time || b.seq - a.seq)[0]!];
  }

  private count(bucket: number, filter: DataFilter): number {
    if (isEmpty(filter)) return this.get<{ records: number }>("SELECT records FROM data_buckets WHERE id = ?", [bucket])?.records ?? 0;
    return this.totals(bucket, filter, undefined).n;
  }

  /** avg is null over no numbers (there is no average); sum is 0. */
  private avgSum(bucket: number, kind: "avg" | "sum", filter: DataFilter): number | null {
    const { n, total } = this.totals(bucket, filter, NUMERIC);
    if (kind === "sum") return total;
    return n === 0 ? null : total / n;
  }

  private totals(bucket: number, filter: DataFilter, extra: Where | undefined): { n: number; total: number } {
    let n = 0;
    let total = 0;
    for (const f of this.scope(bucket, filter).filters) {
      const where = whereFor(bucket, f, extra);
      const row = this.get<{ n: number; total: number }>(`SELECT count(*) AS n, total(value) AS total FROM ${sourceFor(f)} WHERE ${where.sql}`, where.params)!;
      n += row.n;
      total += row.total;
    }
    return { n, total };
  }

  private aggregate(bucket: number, filter: DataFilter, interval: AggregateInterval, fn: AggregateFunction, page: Page): AggregateBucket[] {
    const dir = page.ordination === "ascending" ? "ASC" : "DESC";
    const start = intervalStartSql(interval);
    const { filters, overall } = this.scope(bucket, filter);
    const merged = overall && filters.length > 1;
    const rows = filters.flatMap((f) => {
      const where = whereFor(bucket, f, NUMERIC);
      return this.all<{ variable: string; t: number; v: number }>(
        `SELECT variable, ${start} AS t, ${fn}(value) AS v FROM ${sourceFor(f)} WHERE ${where.sql}
         GROUP BY variable, t ORDER BY t ${dir}, variable LIMIT ? OFFSET ?`,
        [...where.params, merged ? page.qty + page.skip : page.qty, merged ? 0 : page.skip],
      );
    });
    const sign = dir === "ASC" ? 1 : -1;
    if (filters.length > 1) rows.sort((a, b) => (a.t - b.t) * sign || (a.variable < b.variable ? -1 : 1));
    return (merged ? rows.slice(page.skip, page.skip + page.qty) : rows).map((r) => ({ variable: r.variable, time: new Date(r.t), value: r.v }));
  }

  private all<T>(sql: string, params: SqlParam[]): T[] {
    return this.statement(sql).all(...params) as T[];
  }

  private iterate<T>(sql: string, params: SqlParam[]): IterableIterator<T> {
    return this.statement(sql).iterate(...params) as IterableIterator<T>;
  }

  private get<T>(sql: string, params: SqlParam[]): T | undefined {
    return this.statement(sql).get(...params) as T | undefined;
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

function isEmpty(filter: DataFilter): boolean {
  return onlyVariables(filter) && !filter.variables;
}
