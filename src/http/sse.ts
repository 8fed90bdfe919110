import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { RevocationEvent } from "../identity/service.js";

export interface SseOptions {
  /** A comment line this often keeps proxies and NATs from closing an idle stream. */
  heartbeatMs: number;
  /**
   * Bytes the client may leave unread in the socket's buffer; past it the client is dropped, so
   * a stalled reader costs at most this much memory instead of everything recorded since.
   */
  maxBufferedBytes: number;
  /** Reconnection delay suggested to EventSource clients. */
  retryMs?: number;
}

export const DEFAULT_SSE_OPTIONS: SseOptions = { heartbeatMs: 15_000, maxBufferedBytes: 1024 * 1024, retryMs: 2000 };

/**
 * Takes the response over from Fastify for a stream, keeping the headers its hooks already set
 * (CORS: a browser page's EventSource needs `Access-Control-Allow-Origin` on the stream too),
 * which Fastify would otherwise never write once the reply is hijacked.
 */
export function takeOver(reply: FastifyReply): ServerResponse {
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value);
  reply.hijack();
  return reply.raw;
}

/**
 * One Server-Sent Events response (https://html.spec.whatwg.org/multipage/server-sent-events.html),
 * written on a raw Node response the route has taken over from Fastify.
 */
export class SseStream {
  private ended = false;
  /** Events `offer` dropped since the client last caught up, and whether a drain is awaited. */
  private dropped = 0;
  private awaitingDrain = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly closeHandlers: (() => void)[] = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly options: SseOptions,
  ) {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // nginx buffers responses by default, which would hold events back until it has a chunk.
      "x-accel-buffering": "no",
    });
    // Sends the headers now, so the client sees the stream open even before the first event.
    this.write(options.retryMs === undefined ? ": open\n\n" : `retry: ${options.retryMs}\n\n`);
    this.heartbeat = setInterval(() => this.write(": heartbeat\n\n"), options.heartbeatMs);
    this.heartbeat.unref();
    res.on("close", () => this.finish());
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Runs `handler` once the stream is over, whoever ended it; at once if it already is. */
  onClose(handler: () => void): void {
    if (this.ended) handler();
    else this.closeHandlers.push(handler);
  }

  /** One event; `data` must be a single line (JSON.stringify output is). */
  send(id: number, data: string): void {
    this.write(`id: ${id}\ndata: ${data}\n\n`);
  }

  /** One event without an `id:` line: the client's Last-Event-ID stays the previous event's (another node's inspector events, whose ids mean nothing here). */
  sendUnnumbered(data: string): void {
    this.write(`data: ${data}\n\n`);
  }

  /**
   * Events already in SSE form (`id:`/`data:` lines, one string each), for a stream that may
   * lose events rather than its connection. Those that would take the unread bytes past
   * `maxBufferedBytes` are dropped and counted, so a slow reader costs at most that much memory
   * (plus one event); once the socket drains the client gets `event: dropped` with the count
   * (what it missed is in the device's ring, `GET /device/:id/inspector`), then events again.
   */
  offer(events: readonly string[]): void {
    if (this.ended) return;
    let chunk = "";
    let i = 0;
    if (!this.awaitingDrain) {
      const buffered = this.res.writableLength;
      // The first event always goes when nothing waits, so a bound below one event still sends.
      for (; i < events.length; i++) {
        const text = events[i]!;
        if (buffered + chunk.length + text.length > this.options.maxBufferedBytes && buffered + chunk.length > 0) break;
        chunk += text;
      }
      if (chunk !== "") this.res.write(chunk);
    }
    if (i === events.length) return;
    this.dropped += events.length - i;
    if (this.awaitingDrain) return;
    if (this.res.writableNeedDrain) {
      this.awaitingDrain = true;
      this.res.once("drain", this.caughtUp);
    } else {
      this.caughtUp(); // no drain will come: nothing large enough waits
    }
  }

  private readonly caughtUp = (): void => {
    this.awaitingDrain = false;
    const dropped = this.dropped;
    this.dropped = 0;
    if (this.ended || dropped === 0) return;
    this.res.write(`event: dropped\ndata: ${JSON.stringify({ dropped, message: `dropped ${dropped} events: the stream was read too slowly` })}\n\n`);
  };

  /** Ends the response normally (server shutdown, device deleted). */
  end(): void {
    if (this.ended) return;
    this.res.end();
    this.finish();
  }

  private write(text: string): void {
    if (this.ended) return;
    this.res.write(text);
    if (this.res.writableLength > this.options.maxBufferedBytes) {
      // The client reads slower than events arrive; it can reconnect with Last-Event-ID.
      this.res.destroy();
      this.finish();
    }
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    for (const handler of this.closeHandlers.splice(0)) handler();
  }
}

/**
 * For a route plugin serving streams: ends its open streams when the server closes (Fastify's
 * close waits for open requests, and a stream never finishes on its own). Returns the function
 * that keeps a stream until it closes.
 */
export function endStreamsOnClose(app: FastifyInstance): (stream: SseStream) => void {
  const open = new Set<SseStream>();
  app.addHook("preClose", async () => {
    for (const stream of open) stream.end();
  });
  return (stream) => {
    open.add(stream);
    stream.onClose(() => open.delete(stream));
  };
}

/** Where revocations come from: the identity service's `revoked` event. */
export interface RevocationSource {
  on(event: "revoked", listener: (event: RevocationEvent) => void): unknown;
  off(event: "revoked", listener: (event: RevocationEvent) => void): unknown;
}

/**
 * For a route plugin serving streams: ends a stream as soon as the token that opened it stops
 * being valid (revoked, regenerated, expired, its analysis deleted). It listens to the same
 * `revoked` events that end MQTT connections (`disconnectOnRevocation`), so a token has one
 * revocation path whatever holds it open. Returns the function that binds a stream to its token.
 */
export function endStreamsOnRevocation(app: FastifyInstance, revocations: RevocationSource): (stream: SseStream, tokenId: string) => void {
  const byToken = new Map<string, Set<SseStream>>();
  const onRevoked = (event: RevocationEvent) => {
    for (const tokenId of event.tokenIds ?? []) {
      for (const stream of byToken.get(tokenId) ?? []) stream.end();
    }
  };
  revocations.on("revoked", onRevoked);
  app.addHook("onClose", async () => {
    revocations.off("revoked", onRevoked);
  });
  return (stream, tokenId) => {
    let set = byToken.get(tokenId);
    if (!set) byToken.set(tokenId, (set = new Set()));
    set.add(stream);
    stream.onClose(() => {
      set.delete(stream);
      if (set.size === 0 && byToken.get(tokenId) === set) byToken.delete(tokenId);
    });
  };
}
