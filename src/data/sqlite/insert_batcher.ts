/**
 * Group commit. A SQLite commit costs far more than the rows in it, so the calls made within
 * one tick (or until `maxRecords` are waiting) share one transaction, flushed from
 * setImmediate, and every caller's promise settles once that transaction has committed.
 *
 * If the shared transaction fails, it is rolled back whole and each call is retried in a
 * transaction of its own: the call that caused the failure fails alone, and the others are
 * stored as if they had come separately. A call is therefore always stored whole or not at all.
 */
export interface BatchOptions<I> {
  /** Flush at once (not at the next setImmediate) when this many units are waiting. */
  maxUnits: number;
  /** How many units (records) one call weighs. */
  units: (input: I) => number;
}

interface Pending<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

export class InsertBatcher<I, O> {
  private pending: Pending<I, O>[] = [];
  private pendingUnits = 0;
  private scheduled = false;

  /**
   * `commit` stores all inputs in ONE transaction and returns their outputs in order, or
   * throws having stored none of them.
   */
  constructor(
    private readonly commit: (inputs: I[]) => O[],
    private readonly options: BatchOptions<I>,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      this.pendingUnits += this.options.units(input);
      if (this.pendingUnits >= this.options.maxUnits) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything waiting now, synchronously. */
  flush(): void {
    this.scheduled = false;
    const calls = this.pending;
    if (calls.length === 0) return;
    this.pending = [];
    this.pendingUnits = 0;
    let outputs: O[];
    try {
      outputs = this.commit(calls.map((c) => c.input));
    } catch (error) {
      if (calls.length === 1) calls[0]!.reject(error);
      else this.commitOneByOne(calls);
      return;
    }
    calls.forEach((call, i) => call.resolve(outputs[i]!));
  }

  private commitOneByOne(calls: Pending<I, O>[]): void {
    for (const call of calls) {
      try {
        call.resolve(this.commit([call.input])[0]!);
      } catch (error) {
        call.reject(error);
      }
    }
  }

  get waiting(): number {
    return this.pending.length;
  }
}
