// Latency histogram with ~1.6% relative precision and constant memory, because fan-out at
// full rate produces tens of millions of samples per window — far too many to keep.

/** Values below this many microseconds get one bucket each. */
const LINEAR_LIMIT = 128;
/** Buckets per power of two above the linear range (6 mantissa bits). */
const SUB_BUCKETS = 64;
/** Clamp at 2^31 µs (~36 min); anything that slow is a failure, not a latency. */
const MAX_EXPONENT = 31;
const BUCKETS = LINEAR_LIMIT + (MAX_EXPONENT - 7) * SUB_BUCKETS;

function indexOf(us: number): number {
  if (us < LINEAR_LIMIT) return us < 0 ? 0 : us | 0;
  if (us >= 2 ** MAX_EXPONENT) return BUCKETS - 1;
  const v = us >>> 0;
  const exponent = 31 - Math.clz32(v); // 7 .. 30
  const mantissa = v >>> (exponent - 6); // 64 .. 127
  return LINEAR_LIMIT + (exponent - 7) * SUB_BUCKETS + (mantissa - SUB_BUCKETS);
}

/** Midpoint of a bucket in microseconds, used as the representative value when reporting. */
function valueOf(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const rel = index - LINEAR_LIMIT;
  const exponent = 7 + Math.floor(rel / SUB_BUCKETS);
  const mantissa = SUB_BUCKETS + (rel % SUB_BUCKETS);
  const width = 2 ** (exponent - 6);
  return mantissa * width + width / 2;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class Histogram {
  // Float64 rather than Uint32: fan-out can exceed 2^32 samples only in absurdly long runs, but
  // doubles cost nothing extra here and remove the question entirely.
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private maxUs = 0;

  recordMs(ms: number): void {
    const us = ms * 1000;
    this.counts[indexOf(us)] += 1;
    this.total += 1;
    if (us > this.maxUs) this.maxUs = us;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxUs = 0;
  }

  private percentileMs(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(valueOf(i), this.maxUs) / 1000;
    }
    return this.maxUs / 1000;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      p50Ms: this.percentileMs(0.5),
      p90Ms: this.percentileMs(0.9),
      p99Ms: this.percentileMs(0.99),
      p999Ms: this.percentileMs(0.999),
      maxMs: this.maxUs / 1000,
    };
  }
}
