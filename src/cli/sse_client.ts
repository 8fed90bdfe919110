import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { SluiceError } from "../errors.js";
import { codeFor } from "./api_client.js";
import { SseParser, type SseMessage } from "./sse_parser.js";

export interface FollowOptions {
  url: URL;
  /** Sent in the `token` header (never in the URL, which would leak into proxy logs). */
  token: string;
  /** Aborting it ends the stream: `follow` then resolves. */
  signal: AbortSignal;
  onMessage(message: SseMessage): void;
  /** The connection dropped after it had worked; `follow` reconnects after `delayMs`. */
  onReconnect?(reason: string, delayMs: number): void;
  /** No byte (not even a heartbeat) for this long means a dead connection (default 45 s: three heartbeats). */
  idleTimeoutMs?: number;
}

const DEFAULT_RETRY_MS = 2000;
const MAX_RETRY_MS = 30_000;

/**
 * Follows a Server-Sent Events stream until `signal` aborts, the way EventSource does: on a
 * dropped connection it reconnects with `Last-Event-ID`, so no event is shown twice or lost
 * while the server still holds it. A first connection that fails, or any refusal by the
 * server (401, 404: the token was revoked, the device deleted), is an error instead.
 */
export async function followSse(options: FollowOptions): Promise<void> {
  const parser = new SseParser();
  let lastId = "";
  let connectedOnce = false;
  let failures = 0;
  while (!options.signal.aborted) {
    let reason: string;
    try {
      await streamOnce(options, parser, lastId, (message) => {
        lastId = message.id;
        options.onMessage(message);
      }, () => {
        connectedOnce = true;
        failures = 0;
      });
      reason = "the server ended the stream";
    } catch (err) {
      if (options.signal.aborted) return;
      if (err instanceof SluiceError || !connectedOnce) throw toSluiceError(err, options.url);
      reason = describe(err);
    }
    if (options.signal.aborted) return;
    const delayMs = Math.min((parser.retryMs ?? DEFAULT_RETRY_MS) * 2 ** failures++, MAX_RETRY_MS);
    options.onReconnect?.(reason, delayMs);
    await sleep(delayMs, options.signal);
  }
}

/** One connection: resolves when the server ends the stream, rejects on errors. */
async function streamOnce(
  options: FollowOptions,
  parser: SseParser,
  lastId: string,
  onMessage: (message: SseMessage) => void,
  onOpen: () => void,
): Promise<void> {
  // One controller per connection, so the idle watchdog can cut this one without the caller's signal.
  const connection = new AbortController();
  const abort = () => connection.abort();
  options.signal.addEventListener("abort", abort, { once: true });
  const idleMs = options.idleTimeoutMs ?? 45_000;
  let idle = setTimeout(abort, idleMs);
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(abort, idleMs);
  };
  parser.reset();
  try {
    const headers: Record<string, string> = { token: options.token, accept: "text/event-stream" };
    if (lastId !== "") headers["last-event-id"] = lastId;
    const response = await open(options.url, headers, connection.signal);
    const status = response.statusCode ?? 0;
    if (status !== 200) throw refusal(status, await readAll(response));
    if (!(response.headers["content-type"] ?? "").startsWith("text/event-stream")) {
      response.destroy();
      throw new SluiceError("BAD_RESPONSE", `${options.url.pathname}: HTTP ${status} is not an event stream`);
    }
    onOpen();
    response.setEncoding("utf8"); // decodes across chunk boundaries, so a split character is not mangled
    for await (const chunk of response as AsyncIterable<string>) {
      touch();
      for (const message of parser.push(chunk)) onMessage(message);
    }
  } catch (err) {
    // The watchdog aborted a silent connection: report that, not a bare AbortError.
    if (connection.signal.aborted && !options.signal.aborted) throw new Error(`no data for ${idleMs / 1000} s`);
    throw err;
  } finally {
    clearTimeout(idle);
    options.signal.removeEventListener("abort", abort);
    connection.abort(); // closes the socket if the stream is still open (an error in onMessage)
  }
}

/**
 * The request, on its own socket. Not fetch: on Node 20, aborting a fetch whose body is still
 * streaming makes undici open a fresh, unused connection that keeps the process alive for
 * seconds, so Ctrl-C would hang. Here aborting destroys exactly this request's socket.
 */
function open(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, { headers, signal, agent: false }, resolve);
    request.on("error", reject);
    request.end();
  });
}

const MAX_ERROR_BODY = 64 * 1024;

async function readAll(response: IncomingMessage): Promise<string> {
  let text = "";
  response.setEncoding("utf8");
  for await (const chunk of response as AsyncIterable<string>) {
    text += chunk;
    if (text.length > MAX_ERROR_BODY) break; // an error page this long is not a Sluice envelope anyway
  }
  response.destroy();
  return text;
}

function refusal(status: number, body: string): SluiceError {
  let message = `HTTP ${status}`;
  try {
    const envelope = JSON.parse(body) as { message?: unknown };
    if (typeof envelope.message === "string") message = envelope.message;
  } catch {
    // Not a Sluice envelope (a proxy's error page): the status alone has to do.
  }
  return new SluiceError(codeFor(status), message, status);
}

function toSluiceError(err: unknown, url: URL): SluiceError {
  if (err instanceof SluiceError) return err;
  return new SluiceError("UNREACHABLE", `cannot reach Sluice at ${url.origin} (${describe(err)}): is it running?`);
}

/** The most telling part of a network error: its code (ECONNREFUSED, ECONNRESET, ...) if any. */
function describe(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
