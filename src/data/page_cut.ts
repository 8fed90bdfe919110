/**
 * Where a page of records read as several ordered legs (one per variable of a `variables`
 * filter, each with its own qty and skip) stops, in bytes (`data.maxPageBytes`). Every leg is
 * cut at the same count k: the largest for which the first k rows of every leg fit the budget,
 * so `skip + k` is each variable's next page. A leg never stops before its first row, and a cut
 * lowers `limit` for the legs read after it. Shared by both bucket stores, which differ only in
 * how they read a leg.
 */
import { rowJsonBytes, type RecordRow } from "./sqlite/record_codec.js";

/** Rows of a page, and whether the byte bound cut it. */
export interface Rows {
  rows: RecordRow[];
  truncated: boolean;
}

/** The first of `rows` whose JSON fits in `budget` bytes (at least one). */
export function cutRows(rows: RecordRow[], budget: number): Rows {
  let pageBytes = 0;
  for (let i = 0; i < rows.length; i++) {
    pageBytes += rowJsonBytes(rows[i]!);
    if (pageBytes > budget && i > 0) return { rows: rows.slice(0, i), truncated: true };
  }
  return { rows, truncated: false };
}

/** Records in time order (ties by insertion), `sign` 1 ascending, -1 descending. */
export const byTime = (sign: 1 | -1) => (a: RecordRow, b: RecordRow) => (a.time - b.time || a.seq - b.seq) * sign;

export class PageCut {
  /** rowBytes[i]: bytes of the i-th rows of the legs read so far. */
  private readonly rowBytes: number[] = [];
  truncated = false;

  constructor(
    private readonly budget: number,
    /** Rows per leg at most: the page's qty, then the count of the last cut. */
    public limit: number,
  ) {}

  /** Starts the next leg: `take(row, i)` says whether its i-th row still fits (false: stop the leg there). */
  leg(): (row: RecordRow, i: number) => boolean {
    let pageBytes = 0; // of the page if every leg were cut after this row
    return (row, i) => {
      const bytes = rowJsonBytes(row);
      pageBytes += (this.rowBytes[i] ?? 0) + bytes;
      if (pageBytes > this.budget && i > 0) {
        this.limit = i;
        this.truncated = true;
        return false;
      }
      this.rowBytes[i] = (this.rowBytes[i] ?? 0) + bytes;
      return true;
    };
  }
}
