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
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (o: CommitOutcome) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(file: string) {
    this.worker = new Worker(new URL("./bucket_writer_worker.js", import.meta.url), { workerData: { file } });
    this.worker.on("message", (reply: WriterReply) => {
      const call = this.waiting.get(reply.id);
      if (!call) return;
      this.waiting.delete(reply.id);
      if ("outcome" in reply) call.resolve(reply.outcome);
      else call.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    });
    this.worker.on("error", (err) => this.fail(err));
    this.worker.on("exit", (code) => this.fail(new Error(`the bucket writer thread exited (code ${code})`)));
  }

  commit(calls: CommitCall[], createdAt: number): Promise<CommitOutcome> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: "commit", id, calls, createdAt } satisfies WriterRequest);
    });
  }

  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage({ type: "close" } satisfies WriterRequest);
    await exited;
  }

  /** Commits still waiting fail; later ones fail at once. */
  private fail(err: Error): void {
    this.failure ??= err;
    for (const call of this.waiting.values()) call.reject(err);
    this.waiting.clear();
  }
}
