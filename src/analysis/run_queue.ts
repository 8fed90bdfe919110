import { SluiceError } from "../errors.js";
import type { AnalysisRunEventJson, AnalysisRunJson } from "../http/api_types.js";
import { FairQueue, QueueFull } from "../limits/fair_queue.js";

export interface RunEntry {
  id: number;
  accountId: string;
  analysisId: string;
  state: "queued" | "running";
  queuedAt: Date;
  startedAt: Date | null;
}

/** The analysis keys the queue reads (`analysis:` in the configuration). */
export interface RunQueueLimits {
  concurrency: number;
  concurrencyPerAccount: number;
  queueSize: number;
  queuePerAccount: number;
}

/** What happened to a run: it waits, it started, its job ended, or it left the queue unstarted. */
export type RunChange = "queued" | "running" | "finished" | "dropped";

/** A run as the API shows it. */
export function runJson(entry: RunEntry): AnalysisRunJson {
  return {
    id: entry.id,
    analysis: entry.analysisId,
    status: entry.state,
    queued_at: entry.queuedAt.toISOString(),
    started_at: entry.startedAt?.toISOString() ?? null,
  };
}

/** A run's change as the `analysis_run.<id>` channel carries it. */
export function runEventJson(entry: RunEntry, change: RunChange, at = new Date()): AnalysisRunEventJson {
  const ended = change === "finished" || change === "dropped";
  return { ...runJson(entry), status: change, ended_at: ended ? at.toISOString() : null };
}

interface Waiting {
  entry: RunEntry;
  job: () => Promise<void>;
}

/**
 * Bounded concurrency for analysis runs, fair between accounts: at most `concurrency` run at
 * once and at most `concurrencyPerAccount` of one account; at most `queueSize` wait in all
 * and `queuePerAccount` of one account. Past a bound a run is refused (QUEUE_FULL, 429), so a
 * burst of triggers cannot pile up processes or memory, and one account's burst fills its own
 * share rather than the queue every account waits in. First in, first out within an account;
 * accounts take turns for free slots (limits/fair_queue.ts).
 */
export class RunQueue {
  private readonly waiting: FairQueue<Waiting>;
  private readonly running = new Set<RunEntry>();
  private nextId = 1;
  private stopped = false;

  /**
   * `onChange` hears each run's changes (queued, running, finished, dropped), so they can be
   * told live; it must not throw, and must not enqueue.
   */
  constructor(
    private readonly limits: RunQueueLimits,
    private readonly onChange: (entry: RunEntry, change: RunChange) => void = () => {},
  ) {
    this.waiting = new FairQueue({ concurrency: limits.concurrency, concurrencyPerAccount: limits.concurrencyPerAccount, maxWaiting: limits.queueSize, maxWaitingPerAccount: limits.queuePerAccount });
  }

  /** Queues `job`; it starts when a slot is free. Throws QUEUE_FULL when the account's share or the queue is at its bound. */
  enqueue(accountId: string, analysisId: string, job: () => Promise<void>): RunEntry {
    if (this.stopped) throw new SluiceError("STOPPING", "the server is stopping", 503);
    const entry: RunEntry = { id: this.nextId, accountId, analysisId, state: "queued", queuedAt: new Date(), startedAt: null };
    try {
      this.waiting.push(accountId, { entry, job });
    } catch (err) {
      if (!(err instanceof QueueFull)) throw err;
      throw new QueueFull(err.scope, err.bound, err.scope === "account"
        ? `the account's analysis run queue is full (${err.bound} waiting)`
        : `the analysis run queue is full (${err.bound} waiting)`);
    }
    this.nextId++;
    this.onChange(entry, "queued");
    this.pump();
    return entry;
  }

  /** The account's queued and running runs, running first, each group in its order. */
  list(accountId: string): RunEntry[] {
    const queued = [...this.waiting.items()].filter((w) => w.accountId === accountId).map((w) => w.item.entry);
    return [...[...this.running].filter((e) => e.accountId === accountId), ...queued].map((e) => ({ ...e }));
  }

  count(analysisId: string): { running: number; queued: number } {
    let running = 0;
    for (const e of this.running) if (e.analysisId === analysisId) running++;
    let queued = 0;
    for (const { item } of this.waiting.items()) if (item.entry.analysisId === analysisId) queued++;
    return { running, queued };
  }

  /** Drops the waiting runs of an analysis (it was deleted); running ones finish or are killed by their owner. */
  drop(analysisId: string): void {
    for (const w of this.waiting.remove((w) => w.entry.analysisId === analysisId)) this.onChange(w.entry, "dropped");
  }

  /** Refuses new runs and forgets waiting ones. */
  stop(): void {
    this.stopped = true;
    this.waiting.clear();
  }

  private pump(): void {
    for (let next = this.waiting.take(); next; next = this.waiting.take()) {
      const { entry, job } = next.item;
      entry.state = "running";
      entry.startedAt = new Date();
      this.running.add(entry);
      this.onChange(entry, "running");
      // A job reports its own failures (to the console); the queue only keeps the slot count right.
      void job()
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(entry);
          this.waiting.finish(entry.accountId);
          this.onChange(entry, "finished");
          this.pump();
        });
    }
  }
}
