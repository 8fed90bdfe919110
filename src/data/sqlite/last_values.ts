/**
 * `data_last`: per (bucket, variable), the seq and time of the newest record by time, the
 * newest with a value, the newest with a location, and the last inserted. Inserts fold their
 * batch into it (one upsert per variable per commit, not per record); deletes and edits
 * recompute only the variables whose cached records they touched. Reading it is a primary-key
 * lookup, so last_* queries and condition triggers cost the same at ten records or ten million.
 */
import type { Db } from "../../store/sqlite/open.js";
import type { EdgeTarget } from "../query.js";
import { ValueType } from "./record_codec.js";

/** The newest candidates of one variable within one commit. */
interface Candidates {
  bucket: number;
  variable: string;
  item: [seq: number, time: number];
  value: [seq: number, time: number] | null;
  location: [seq: number, time: number] | null;
  insert: number;
}

type Mark = [seq: number, time: number];

// Seqs only grow, so a new record wins a tie on time: hence >=, not >.
const newer = (col: string) =>
  `CASE WHEN excluded.${col}_seq IS NOT NULL AND (${col}_seq IS NULL OR excluded.${col}_time >= ${col}_time)`;

export class LastValues {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      upsert: db.prepare(`
        INSERT INTO data_last (bucket, variable, item_seq, item_time, value_seq, value_time, location_seq, location_time, insert_seq)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (bucket, variable) DO UPDATE SET
          item_seq = ${newer("item")} THEN excluded.item_seq ELSE item_seq END,
          item_time = ${newer("item")} THEN excluded.item_time ELSE item_time END,
          value_seq = ${newer("value")} THEN excluded.value_seq ELSE value_seq END,
          value_time = ${newer("value")} THEN excluded.value_time ELSE value_time END,
          location_seq = ${newer("location")} THEN excluded.location_seq ELSE location_seq END,
          location_time = ${newer("location")} THEN excluded.location_time ELSE location_time END,
          insert_seq = max(insert_seq, excluded.insert_seq)`),
      get: db.prepare("SELECT * FROM data_last WHERE bucket = ? AND variable = ?"),
      replace: db.prepare(`
        INSERT OR REPLACE INTO data_last (bucket, variable, item_seq, item_time, value_seq, value_time, location_seq, location_time, insert_seq)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      remove: db.prepare("DELETE FROM data_last WHERE bucket = ? AND variable = ?"),
      removeBucket: db.prepare("DELETE FROM data_last WHERE bucket = ?"),
      variables: db.prepare("SELECT variable FROM data_last WHERE bucket = ?").pluck(),
      newest: db.prepare("SELECT seq, time FROM data_records WHERE bucket = ? AND variable = ? ORDER BY time DESC, seq DESC LIMIT 1").raw(),
      newestValue: db.prepare(
        `SELECT seq, time FROM data_records WHERE bucket = ? AND variable = ? AND vtype <> ${ValueType.None} ORDER BY time DESC, seq DESC LIMIT 1`,
      ).raw(),
      newestLocation: db.prepare(
        "SELECT seq, time FROM data_records WHERE bucket = ? AND variable = ? AND lat IS NOT NULL ORDER BY time DESC, seq DESC LIMIT 1",
      ).raw(),
      lastInserted: db.prepare("SELECT max(seq) FROM data_records WHERE bucket = ? AND variable = ?").pluck(),
    };
  }

  /** Writes one commit's candidates (see Collector). */
  fold(collector: Collector): void {
    for (const c of collector.values()) {
      this.q.upsert.run(c.bucket, c.variable, c.item[0], c.item[1], c.value?.[0] ?? null, c.value?.[1] ?? null,
        c.location?.[0] ?? null, c.location?.[1] ?? null, c.insert);
    }
  }

  /** After records of `variable` were deleted or edited: recompute if a cached one is among `seqs` (or always when `seqs` is undefined). */
  invalidate(bucket: number, variable: string, seqs?: ReadonlySet<number>): void {
    if (seqs) {
      const row = this.q.get.get(bucket, variable) as Record<string, number | null> | undefined;
      if (!row) return;
      const cached = [row.item_seq, row.value_seq, row.location_seq, row.insert_seq];
      if (!cached.some((seq) => seq !== null && seqs.has(seq))) return;
    }
    this.recompute(bucket, variable);
  }

  private recompute(bucket: number, variable: string): void {
    const item = this.q.newest.get(bucket, variable) as Mark | undefined;
    if (!item) {
      this.q.remove.run(bucket, variable);
      return;
    }
    const value = this.q.newestValue.get(bucket, variable) as Mark | undefined;
    const location = this.q.newestLocation.get(bucket, variable) as Mark | undefined;
    const inserted = this.q.lastInserted.get(bucket, variable) as number;
    this.q.replace.run(bucket, variable, item[0], item[1], value?.[0] ?? null, value?.[1] ?? null,
      location?.[0] ?? null, location?.[1] ?? null, inserted);
  }

  /** Every variable the bucket holds records of (data_last has a row exactly for those). */
  variables(bucket: number): string[] {
    return this.q.variables.all(bucket) as string[];
  }

  removeBucket(bucket: number): void {
    this.q.removeBucket.run(bucket);
  }
}

/** Gathers the newest records per variable of one commit, so `fold` writes each variable once. */
export class Collector {
  private readonly byVariable = new Map<string, Candidates>();

  add(bucket: number, variable: string, seq: number, time: number, hasValue: boolean, hasLocation: boolean): void {
    const key = `${bucket}\u0000${variable}`;
    const mark: Mark = [seq, time];
    const c = this.byVariable.get(key);
    if (!c) {
      this.byVariable.set(key, {
        bucket, variable, item: mark, value: hasValue ? mark : null, location: hasLocation ? mark : null, insert: seq,
      });
      return;
    }
    // Within a commit seqs grow too, so >= keeps the later of two records with the same time.
    if (time >= c.item[1]) c.item = mark;
    if (hasValue && (!c.value || time >= c.value[1])) c.value = mark;
    if (hasLocation && (!c.location || time >= c.location[1])) c.location = mark;
    c.insert = seq;
  }

  values(): IterableIterator<Candidates> {
    return this.byVariable.values();
  }
}

/** The data_last column holding the seq a `last_*` query wants. */
export function seqColumn(target: EdgeTarget): string {
  return `${target}_seq`;
}
