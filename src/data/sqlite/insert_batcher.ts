/**
 * Group commit. A SQLite commit costs far more than the rows in it, so the calls made within
 * one tick (or until `maxUnits` are waiting) share one transaction, flushed from setImmediate,
 * and every caller's promise settles once that transaction has committed.
 *
 * `commit` may be synchronous (the transaction runs in this thread) or return a promise (it
 * runs in a writer thread). Either way one commit is in flight at a time, and what arrives
 * meanwhile waits for the next: the busier the store, the larger its commits.
 *
 * If the shared transaction fails, it is rolled back whole and each call is retried in a
 * transaction of its own: the call that caused the failure fails alone, and the others are
 * stored as if they had come separately. A call is therefore always stored whole or not at all.
 */
export interface BatchOptions<I> {
  /** Flush at once (not at the next setImmediate) when this many units are waiting; also the most one commit takes. */
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
  private inFlight: Promise<void> | undefined;

  /**
   * `commit` stores all inputs in ONE transaction and returns their outputs in order, or
   * throws (rejects) having stored none of them.
   */
  constructor(
    private readonly commit: (inputs: I[]) => O[] | Promise<O[]>,
    private readonly options: BatchOptions<I>,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      this.pendingUnits += this.options.units(input);
      if (this.inFlight) return; // the commit in flight flushes what waits when it is done
      if (this.pendingUnits >= this.options.maxUnits) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Starts committing what waits now (the transaction itself at once, with a synchronous `commit`), unless a commit is in flight. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.inFlight) return;
    const calls = this.take();
    this.inFlight = this.commitCalls(calls).finally(() => {
      this.inFlight = undefined;
      if (this.pending.length > 0) this.flush();
    });
  }

  /** Resolves once everything submitted so far is committed (or failed). */
  async drained(): Promise<void> {
    this.flush();
    while (this.inFlight) {
      await this.inFlight;
      this.flush();
    }
  }

  get waiting(): number {
    return this.pending.length;
  }

  private async commitCalls(calls: Pending<I, O>[]): Promise<void> {
    try {
      const outputs = await this.commit(calls.map((c) => c.input));
      calls.forEach((call, i) => call.resolve(outputs[i]!));
    } catch (error) {
      if (calls.length === 1) {
        calls[0]!.reject(error);
        return;
      }
      // Each call alone, so that only the guilty one fails.
      for (const call of calls) {
        try {
          call.resolve((await this.commit([call.input]))[0]!);
        } catch (err) {
          call.reject(err);
        }
      }
    }
  }

  /** The calls of the next commit: in order, up to `maxUnits` (at least one). */
  private take(): Pending<I, O>[] {
    let units = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || units < this.options.maxUnits)) units += this.options.units(this.pending[n++]!.input);
    this.pendingUnits -= units;
    return this.pending.splice(0, n);
  }
}
