/**
 * `data_last` in PostgreSQL: per (bucket, variable) the newest record by time, with a value,
 * with a location, and the last inserted, as data/sqlite/last_values.ts keeps it for SQLite.
 * An insert folds its batch in with ONE statement (rows from arrays, one per variable; part of
 * the commit's statement, insert_commit.ts);
 * deletes and edits recompute only the variables whose cached records they touched.
 */
import type { Queryable } from "../../store/postgres/pool.js";
import { Collector } from "../sqlite/last_values.js";
import { ValueType } from "../sqlite/record_codec.js";
import { numberArray, textArray } from "./array_literal.js";

export { Collector };

// Seqs only grow, so a later record wins a tie on time: >=, not >.
const newer = (col: string) =>
  `CASE WHEN excluded.${col}_seq IS NOT NULL AND (l.${col}_seq IS NULL OR excluded.${col}_time >= l.${col}_time)`;

/** The upsert of a commit's candidates, its nine array parameters numbered from `$first`. */
export function upsertLastSql(first: number): string {
  const p = (i: number) => `$${first + i}`;
  return `
  INSERT INTO data_last AS l (bucket, variable, item_seq, item_time, value_seq, value_time, location_seq, location_time, insert_seq)
  SELECT * FROM unnest(${p(0)}::bigint[], ${p(1)}::text[], ${p(2)}::bigint[], ${p(3)}::bigint[], ${p(4)}::bigint[], ${p(5)}::bigint[], ${p(6)}::bigint[],
    ${p(7)}::bigint[], ${p(8)}::bigint[])
  ON CONFLICT (bucket, variable) DO UPDATE SET
    item_seq = ${newer("item")} THEN excluded.item_seq ELSE l.item_seq END,
    item_time = ${newer("item")} THEN excluded.item_time ELSE l.item_time END,
    value_seq = ${newer("value")} THEN excluded.value_seq ELSE l.value_seq END,
    value_time = ${newer("value")} THEN excluded.value_time ELSE l.value_time END,
    location_seq = ${newer("location")} THEN excluded.location_seq ELSE l.location_seq END,
    location_time = ${newer("location")} THEN excluded.location_time ELSE l.location_time END,
    insert_seq = greatest(l.insert_seq, excluded.insert_seq)`;
}

const NEWEST = (condition: string) =>
  `SELECT seq, time FROM data_records WHERE bucket = $1 AND variable = $2 ${condition} ORDER BY time DESC, seq DESC LIMIT 1`;

/**
 * One commit's candidates as upsertLastSql's nine parameters (array literals), in (bucket,
 * variable) order so concurrent commits lock rows alike.
 */
export function lastParams(collector: Collector): string[] {
  const rows = [...collector.values()].sort((a, b) => a.bucket - b.bucket || (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0));
  return [
    numberArray(rows.map((c) => c.bucket)), textArray(rows.map((c) => c.variable)), numberArray(rows.map((c) => c.item[0])), numberArray(rows.map((c) => c.item[1])),
    numberArray(rows.map((c) => c.value?.[0] ?? null)), numberArray(rows.map((c) => c.value?.[1] ?? null)),
    numberArray(rows.map((c) => c.location?.[0] ?? null)), numberArray(rows.map((c) => c.location?.[1] ?? null)), numberArray(rows.map((c) => c.insert)),
  ];
}

/** After records of `variable` were deleted or edited: recompute if a cached one is among `seqs` (always when undefined). */
export async function invalidateLast(db: Queryable, bucket: number, variable: string, seqs?: ReadonlySet<number>): Promise<void> {
  if (seqs) {
    const row = (await db.query("SELECT item_seq, value_seq, location_seq, insert_seq FROM data_last WHERE bucket = $1 AND variable = $2", [bucket, variable]))
      .rows[0] as Record<string, number | null> | undefined;
    if (!row) return;
    if (!Object.values(row).some((seq) => seq !== null && seqs.has(seq))) return;
  }
  type Mark = { seq: number; time: number };
  const first = async (sql: string) => (await db.query(sql, [bucket, variable])).rows[0] as Mark | undefined;
  const item = await first(NEWEST(""));
  if (!item) {
    await db.query("DELETE FROM data_last WHERE bucket = $1 AND variable = $2", [bucket, variable]);
    return;
  }
  const value = await first(NEWEST(`AND vtype <> ${ValueType.None}`));
  const location = await first(NEWEST("AND lat IS NOT NULL"));
  const inserted = (await db.query("SELECT max(seq) AS s FROM data_records WHERE bucket = $1 AND variable = $2", [bucket, variable])).rows[0].s as number;
  await db.query(
    `INSERT INTO data_last (bucket, variable, item_seq, item_time, value_seq, value_time, location_seq, location_time, insert_seq)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (bucket, variable) DO UPDATE SET item_seq = excluded.item_seq, item_time = excluded.item_time, value_seq = excluded.value_seq,
       value_time = excluded.value_time, location_seq = excluded.location_seq, location_time = excluded.location_time, insert_seq = excluded.insert_seq`,
    [bucket, variable, item.seq, item.time, value?.seq ?? null, value?.time ?? null, location?.seq ?? null, location?.time ?? null, inserted],
  );
}

/** Every variable the bucket holds records of. */
export async function variablesOf(db: Queryable, bucket: number): Promise<string[]> {
  return ((await db.query("SELECT variable FROM data_last WHERE bucket = $1 ORDER BY variable", [bucket])).rows as { variable: string }[]).map((r) => r.variable);
}
