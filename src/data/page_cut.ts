/**
 * Where a page of records read as several ordered legs (one per variable of a `variables`
 * filter, each with its own qty and skip) stops, in bytes (`data.maxPageBytes`). Every leg is
 * cut at the same count k: the largest for which the first k rows of every leg fit the budget,
 * so `skip + k` is each variable's next page. A leg never stops before its first row, and a cut
 * lowers `limit` for the legs read after it. Shared by both bucket stores, which differ only in
 * how they read a leg.
 */
import { rowJsonBytes, type RecordRow } from "./sqlite/record_codec.js";

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
