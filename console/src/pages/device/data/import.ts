/**
 * Sends imported rows to `POST /device/:id/data` in chunks the API accepts: at most 10 000
 * records (data/validate.ts) and a body under 200 kB (the route's limit). A plan may bound
 * bodies lower (`maxPayloadBytes`, 64 KiB on the free plan): a chunk refused with 413 is split
 * in two and the smaller size kept. A 429 (the plan's rates) waits as long as the API's
 * Retry-After says, then sends the same chunk again. Any other refusal is that chunk's error,
 * in the API's words, and the import goes on with the next chunk: a chunk is stored whole or
 * not at all, so the failed lines are exactly the ones listed.
 */
import { ApiError, request, seg } from "../../../api/client.js";
import { recordIndexOf, retryAfterSeconds } from "./api_words.js";
import { chunkRanges, type ImportRow } from "./csv_records.js";

export const MAX_RECORDS = 10_000;
/** Under the route's 200 kB with room for the array's brackets. */
export const MAX_BODY_BYTES = 192 * 1024;
const MIN_BODY_BYTES = 1024;

export interface ChunkFailure {
  firstLine: number;
  lastLine: number;
  rows: number;
  /** The API's message (or what went wrong on the way). */
  message: string;
  status: number;
  /** When the API named a record of the chunk: the CSV line it came from. */
  line?: number;
}

export interface ImportHooks {
  onProgress: (done: number, stored: number) => void;
  onFailure: (failure: ChunkFailure) => void;
  /** Waiting for a rate limit; 0 when waiting ends. */
  onWait: (seconds: number, message: string) => void;
}

export interface ImportResult {
  stored: number;
  failed: number;
}

export async function importRows(deviceId: string, rows: readonly ImportRow[], hooks: ImportHooks, signal: AbortSignal): Promise<ImportResult> {
  let maxBytes = MAX_BODY_BYTES;
  const queue = chunkRanges(rows, { maxBytes, maxRecords: MAX_RECORDS });
  let done = 0;
  let stored = 0;
  let failed = 0;
  while (queue.length > 0) {
    signal.throwIfAborted();
    const [from, to] = queue.shift()!;
    const chunk = rows.slice(from, to);
    try {
      await request<string>("POST", `/device/${seg(deviceId)}/data`, { body: chunk.map((r) => r.record), signal });
      stored += chunk.length;
      done += chunk.length;
      hooks.onProgress(done, stored);
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      const status = err instanceof ApiError ? err.status : 0;
      const message = err instanceof Error ? err.message : String(err);
      if (status === 413 && maxBytes > MIN_BODY_BYTES && chunk.length > 1) {
        // Too big for this server or plan: split this chunk (and size the rest) smaller.
        maxBytes = Math.max(MIN_BODY_BYTES, Math.floor(maxBytes / 2));
        queue.unshift(...chunkRanges(chunk, { maxBytes, maxRecords: MAX_RECORDS }).map(([a, b]): [number, number] => [from + a, from + b]));
        continue;
      }
      if (status === 429) {
        const seconds = retryAfterSeconds(message) ?? 5;
        hooks.onWait(seconds, message);
        await sleep(seconds * 1000, signal);
        hooks.onWait(0, "");
        queue.unshift([from, to]);
        continue;
      }
      const index = recordIndexOf(message);
      failed += chunk.length;
      done += chunk.length;
      hooks.onFailure({
        firstLine: chunk[0]!.line, lastLine: chunk[chunk.length - 1]!.line, rows: chunk.length, message, status,
        ...(index !== undefined && chunk[index] && { line: chunk[index]!.line }),
      });
      hooks.onProgress(done, stored);
    }
  }
  return { stored, failed };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new DOMException("Aborted", "AbortError"));
    }, { once: true });
  });
}
