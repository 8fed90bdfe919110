import { SluiceError } from "../errors.js";

export interface RunEntry {
  id: number;
  accountId: string;
  analysisId: string;
  state: "queued" | "running";
  queuedAt: Date;
  startedAt: Date | null;
}

/**
 * Bounded concurrency for analysis runs: at most `concurrency` run at once, at most
 * `queueSize` wait (first in, first out); past that a run is refused, so a burst of triggers
 * cannot pile up processes or memory.
 */
export class RunQueue {
  private readonly waiting: { entry: RunEntry; job: () => Promise<void> }[] = [];
  private readonly running = new Set<RunEntry>();
  private nextId = 1;
  private stopped = false;

  constructor(private readonly limits: { concurrency: number; queueSize: number }) {}

  /** Queues `job`; it starts when a slot is free. Throws QUEUE_FULL when the queue is at its bound. */
  enqueue(accountId: string, analysisId: string, job: () => Promise<void>): RunEntry {
    if (this.stopped) throw new SluiceError("STOPPING", "the server is stopping", 503);
    if (this.waiting.length >= this.limits.queueSize && this.running.size >= this.limits.concurrency) {
      throw new SluiceError("QUEUE_FULL", `the analysis run queue is full (${this.limits.queueSize} waiting)`, 429);
    }
    const entry: RunEntry = { id: this.nextId++, accountId, analysisId, state: "queued", queuedAt: new Date(), startedAt: null };
    this.waiting.push({ entry, job });
    this.pump();
    return entry;
  }

  /** The account's queued and running runs, running first. */
  list(accountId: string): RunEntry[] {
    return [...this.running, ...this.waiting.map((w) => w.entry)].filter((e) => e.accountId === accountId).map((e) => ({ ...e }));
  }

  count(analysisId: string): { running: number; queued: number } {
    let running = 0;
    for (const e of this.running) if (e.analysisId === analysisId) running++;
    return { running, queued: this.waiting.filter((w) => w.entry.analysisId === analysisId).length };
  }

  /** Drops the waiting runs of an analysis (it was deleted); running ones finish or are killed by their owner. */
  drop(analysisId: string): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) if (this.waiting[i]!.entry.analysisId === analysisId) this.waiting.splice(i, 1);
  }

  /** Refuses new runs and forgets waiting ones. */
  stop(): void {
    this.stopped = true;
    this.waiting.length = 0;
  }

  private pump(): void {
    while (this.running.size < this.limits.concurrency && this.waiting.length > 0) {
      const { entry, job } = this.waiting.shift()!;
      entry.state = "running";
      entry.startedAt = new Date();
      this.running.add(entry);
      // A job reports its own failures (to the console); the queue only keeps the slot count right.
      void job()
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(entry);
          this.pump();
        });
    }
  }
}
