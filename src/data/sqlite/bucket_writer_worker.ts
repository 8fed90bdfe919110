/** The bucket writer thread (bucket_writer.ts): runs insert transactions on its own connection. */
import { parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "../../store/sqlite/open.js";
import { InsertCommitter, type CommitCall, type CommitOutcome } from "./insert_commit.js";

export type WriterRequest = { type: "commit"; id: number; calls: CommitCall[]; createdAt: number } | { type: "close" };
export type WriterReply = { id: number; outcome: CommitOutcome } | { id: number; error: { message: string; code?: string } };

if (parentPort) {
  const port = parentPort;
  const db = openDatabase((workerData as { file: string }).file);
  // As the store's own connection (SqliteBucketStore.open): checkpoints every ~40 MB of WAL
  // rather than every commit, and a page cache that holds many devices' hot index pages.
  db.pragma("wal_autocheckpoint = 10000");
  db.pragma("cache_size = -65536");
  const committer = new InsertCommitter(db);
  port.on("message", (request: WriterRequest) => {
    if (request.type === "close") {
      db.close();
      port.close();
      return;
    }
    let reply: WriterReply;
    try {
      reply = { id: request.id, outcome: committer.commit(request.calls, request.createdAt) };
    } catch (err) {
      const { message, code } = err as { message?: unknown; code?: unknown };
      reply = { id: request.id, error: { message: String(message ?? err), ...(typeof code === "string" && { code }) } };
    }
    port.postMessage(reply);
  });
}
