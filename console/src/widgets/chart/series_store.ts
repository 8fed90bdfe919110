/**
 * A chart's data: one series per device × variable, on one grid of equal time buckets (the
 * downsample query's: `buckets` over the range), as uPlot's aligned columns (x, then each
 * series' average, minimum and maximum).
 *
 * Live records fold into the bucket their time falls in (its average, min and max move; a
 * bucket past the end is added), and buckets left of a sliding range are dropped. So a chart
 * never holds more points than its width in pixels, however long it stays open, and bars keep
 * their width. Mutated in place: a live record costs a few array writes, and the plot is told
 * (`onChange`) to draw at the next animation frame.
 */
import type { DataRecordJson, DownsampleBucketJson, WidgetSourceResultJson } from "../../../../src/http/api_types.js";

export interface SeriesInfo {
  key: string;
  device: string;
  variable: string;
}

interface Column {
  avg: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  count: number[];
}

export interface Latest {
  value: number;
  time: number;
}

function isBucket(item: unknown): item is DownsampleBucketJson {
  const b = item as DownsampleBucketJson;
  return typeof item === "object" && item !== null && typeof b.variable === "string" && typeof b.time === "string" && typeof b.end === "string" && typeof b.avg === "number";
}

export function seriesKey(device: string, variable: string): string {
  return `${device}/${variable}`;
}

export class SeriesStore {
  readonly series: SeriesInfo[] = [];
  /** The time of every kept bucket's middle (ms); the columns run alongside. */
  readonly x: number[] = [];
  /** Grid index of `x[0]`. */
  private first = 0;
  private readonly columns = new Map<string, Column>();
  readonly latest = new Map<string, Latest>();
  /** Length of the range shown (ms); the range's start when it does not slide. */
  readonly span: number;
  /** Called after each change, to schedule a draw. */
  onChange: (() => void) | undefined;
  /** Bumped when a series is added (the plot must then be made again). */
  structure = 0;

  /** Bucket length in ms: the range over the bucket count, as the server cuts it. */
  readonly size: number;

  constructor(
    readonly origin: number,
    readonly end: number,
    readonly buckets: number,
    readonly live: boolean,
  ) {
    this.span = end - origin + 1;
    this.size = this.span / buckets;
    // The whole grid from the start, empty buckets as gaps: a late record anywhere in the range has its place.
    for (let i = 0; i < buckets; i++) this.x.push(origin + (i + 0.5) * this.size);
  }

  /** From the widget data answer: every source's device × variable, then its buckets. */
  static fromResults(results: WidgetSourceResultJson[], range: { start: number; end: number; live: boolean }, buckets: number): SeriesStore {
    const store = new SeriesStore(range.start, range.end, buckets, range.live);
    for (const source of results) {
      if (!source.device) continue;
      for (const variable of source.variables ?? []) store.ensure(source.device, variable.toLowerCase());
      if (!Array.isArray(source.result)) continue;
      for (const bucket of source.result) {
        if (!isBucket(bucket)) continue;
        // By the bucket's middle, well inside one cell of the grid: the server may have cut the
        // range from its own "now" (a dashboard range ending now sends no end_date), a few ms off ours.
        const i = Math.floor(((Date.parse(bucket.time) + Date.parse(bucket.end)) / 2 - store.origin) / store.size);
        store.put(store.ensure(source.device, bucket.variable), i, bucket.avg, bucket.min, bucket.max, bucket.count);
        store.noteLatest(seriesKey(source.device, bucket.variable), bucket.avg, Date.parse(bucket.last_time));
      }
    }
    return store;
  }

  /** Columns for uPlot: x, then per series avg (and min, max when `band`). The arrays are the store's own. */
  aligned(band: boolean): (number | null)[][] {
    const out: (number | null)[][] = [this.x];
    for (const s of this.series) {
      const c = this.columns.get(s.key)!;
      out.push(c.avg);
      if (band) out.push(c.min, c.max);
    }
    return out;
  }

  /** Live records: numeric values of known series (a source listing no variables gains new ones). */
  add(records: DataRecordJson[]): void {
    let changed = false;
    for (const r of records) {
      if (typeof r.value !== "number" || !Number.isFinite(r.value)) continue;
      const t = Date.parse(r.time);
      if (!Number.isFinite(t) || t < this.origin || (!this.live && t > this.end)) continue;
      const i = Math.floor((t - this.origin) / this.size);
      if (i < this.first) continue;
      const before = this.series.length;
      const key = this.ensure(r.device, r.variable);
      if (this.series.length !== before) this.structure++;
      this.put(key, i, r.value, r.value, r.value, 1);
      this.noteLatest(key, r.value, t);
      changed = true;
    }
    if (changed) this.onChange?.();
  }

  /** Drops buckets that ended before `start` (a sliding range). */
  trim(start: number): void {
    const keep = Math.floor((start - this.origin) / this.size);
    const drop = Math.min(this.x.length, keep - this.first);
    if (drop <= 0) return;
    this.x.splice(0, drop);
    for (const c of this.columns.values()) {
      c.avg.splice(0, drop);
      c.min.splice(0, drop);
      c.max.splice(0, drop);
      c.count.splice(0, drop);
    }
    this.first += drop;
  }

  get points(): number {
    return this.x.length;
  }

  private ensure(device: string, variable: string): string {
    const key = seriesKey(device, variable);
    if (!this.columns.has(key)) {
      const n = this.x.length;
      this.series.push({ key, device, variable });
      this.columns.set(key, { avg: new Array<number | null>(n).fill(null), min: new Array<number | null>(n).fill(null), max: new Array<number | null>(n).fill(null), count: new Array<number>(n).fill(0) });
    }
    return key;
  }

  /** Folds a value (or a loaded bucket) into grid index `i`, growing the grid to the right. */
  private put(key: string, i: number, avg: number, min: number, max: number, count: number): void {
    if (i < this.first) return;
    while (this.first + this.x.length <= i) {
      this.x.push(this.origin + (this.first + this.x.length + 0.5) * this.size);
      for (const c of this.columns.values()) {
        c.avg.push(null);
        c.min.push(null);
        c.max.push(null);
        c.count.push(0);
      }
    }
    const at = i - this.first;
    const c = this.columns.get(key)!;
    const had = c.count[at]!;
    const total = had + count;
    c.avg[at] = had === 0 ? avg : ((c.avg[at] as number) * had + avg * count) / total;
    c.min[at] = had === 0 ? min : Math.min(c.min[at] as number, min);
    c.max[at] = had === 0 ? max : Math.max(c.max[at] as number, max);
    c.count[at] = total;
  }

  private noteLatest(key: string, value: number, time: number): void {
    const last = this.latest.get(key);
    if (!last || time >= last.time) this.latest.set(key, { value, time });
  }
}
