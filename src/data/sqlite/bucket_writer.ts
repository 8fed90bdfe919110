import { Worker } from "node:worker_threads";
import type { Db } from "../../store/sqlite/open.js";
import { InsertCommitter, type CommitCall, type CommitOutcome } from "./insert_commit.js";
import type { WriterReply, WriterRequest } from "./bucket_writer_worker.js";

/** Where insert transactions run. */
export interface BucketWriter {
  commit(calls: CommitCall[], createdAt: number): CommitOutcome | Promise<CommitOutcome>;
  close(): Promise<void>;
}

/** Inserts on the caller's connection, in this thread (an in-memory store, tests). */
export function inlineWriter(db: Db): BucketWriter {
  const committer = new InsertCommitter(db);
  return { commit: (calls, createdAt) => committer.commit(calls, createdAt), close: async () => {} };
}

/**
 * Inserts on a connection of their own in a worker thread. Under ingest load the broker's
 * event loop is the bottleneck and a commit was a quarter of its time; in a thread the commit
 * uses the other core while the loop keeps reading, parsing and acknowledging. The records
 * cross as structured clones (Dates and all); the transaction is the same code either way
 * (insert_commit.ts). WAL lets the event loop's connection read meanwhile; its own writes
 * (edits, deletes, retention, new buckets) wait for the thread's commit (busy_timeout).
 */
export class ThreadWriter implements BucketWriter {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, { resolve: (o: CommitOutcome) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closing = false;
  private spawnedAt = 0;
  private respawnTimer: NodeJS.Timeout | undefined;

  /** `onError` hears of a thread that died (it is started again; the commits it held fail). */
  constructor(
    private readonly file: string,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.worker = this.spawn();
  }

  commit(calls: CommitCall[], createdAt: number): Promise<CommitOutcome> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error("the bucket writer thread is restarting"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ type: "commit", id, calls, createdAt } satisfies WriterRequest);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.respawnTimer);
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage({ type: "close" } satisfies WriterRequest);
    await exited;
  }

  private spawn(): Worker {
    this.spawnedAt = Date.now();
    const worker = new Worker(new URL("./bucket_writer_worker.js", import.meta.url), { workerData: { file: this.file } });
    worker.on("message", (reply: WriterReply) => {
      const call = this.waiting.get(reply.id);
      if (!call) return;
      this.waiting.delete(reply.id);
      if ("outcome" in reply) call.resolve(reply.outcome);
      else call.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    });
    worker.on("error", (err) => this.lost(worker, err));
    worker.on("exit", (code) => this.lost(worker, new Error(`the bucket writer thread exited (code ${code})`)));
    return worker;
  }

  /**
   * The thread died: the commits it held fail (their callers were not told "stored", so
   * nothing acknowledged is lost), and a new thread starts, at most one a second.
   */
  private lost(worker: Worker, err: Error): void {
    if (this.closing || worker !== this.worker) return;
    this.worker = undefined;
    for (const call of this.waiting.values()) call.reject(err);
    this.waiting.clear();
    this.onError(err);
    const wait = Math.max(0, 1000 - (Date.now() - this.spawnedAt));
    this.respawnTimer = setTimeout(() => {
      if (!this.closing) this.worker = this.spawn();
    }, wait);
    this.respawnTimer.unref();
  }
}
