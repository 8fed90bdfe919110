import { get, type IncomingMessage } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { SseParser, type SseMessage } from "../../src/cli/sse_parser.js";

/** An open SSE connection, read with the CLI's parser. */
export interface SseStreamClient {
  status: number;
  /** The next event; throws when none arrives within the timeout. */
  next(timeoutMs?: number): Promise<SseMessage>;
  /** Events received and not yet taken with next(). */
  readonly pending: number;
  /** Resolves when the server ends the stream; throws when it is still open after the timeout. */
  ended(timeoutMs?: number): Promise<void>;
  close(): void;
}

/**
 * Opens a stream on its own socket (not fetch: aborting a streaming fetch leaves undici holding
 * a fresh connection for seconds, which would hold the test process too).
 */
export async function openStream(url: string, headers: Record<string, string> = {}): Promise<SseStreamClient> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    get(url, { headers, agent: false }, resolve).on("error", reject);
  });
  const queue: SseMessage[] = [];
  const parser = new SseParser();
  response.setEncoding("utf8");
  response.on("data", (chunk: string) => queue.push(...parser.push(chunk)));
  response.on("error", () => {}); // close() destroys it mid-stream
  let over = false;
  response.on("close", () => (over = true));
  return {
    status: response.statusCode ?? 0,
    async next(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (Date.now() > deadline) throw new Error("no event within the timeout");
        await delay(10);
      }
      return queue.shift()!;
    },
    get pending() {
      return queue.length;
    },
    async ended(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (!over) {
        if (Date.now() > deadline) throw new Error(`the stream is still open after ${timeoutMs} ms`);
        await delay(10);
      }
    },
    close: () => response.destroy(),
  };
}
