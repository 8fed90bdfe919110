/**
 * The errors that happen outside a route's error handler: before routing (a URL the router
 * cannot decode), at the socket (a request Node's HTTP parser refuses), and anything that would
 * still escape the HTTP server's "request" event. Each becomes an answer in the API's envelope
 * (`{ status: false, message }`), never a process exit: no request may kill the server.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createSecureServer, type Server as SecureServer } from "node:https";
import type { Socket } from "node:net";
import { PendingConnections } from "../mqtt/pending_connections.js";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "../observability/logger.js";
import { failure } from "./envelope.js";
import { defaultConfig, type HttpLimits } from "../config/schema.js";

/** Fastify's `frameworkErrors`: a path it cannot decode (`%ff`), an overlong parameter. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const message = error.code === "FST_ERR_BAD_URL" ? "The URL is not valid (a malformed %-escape?)" : error.code === "FST_ERR_MAX_PARAM_LENGTH" ? "A path segment is too long" : "Bad request";
  void reply.code(status).send(failure(message));
}

/**
 * Fastify's `clientErrorHandler`: Node refused the bytes before any request existed (a header
 * too large, an invalid header, conflicting Content-Length...). The socket is closed after the
 * answer, as Node does. The error is logged by code only: its raw packet holds the request
 * line, which may hold a token.
 */
export function clientErrorHandler(logger: Logger): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    const message = status === 431 ? "Request headers are too large" : status === 408 ? "Request timed out" : "Malformed HTTP request";
    logger.debug({ code: error.code, status }, "http client error");
    if (socket.writable) {
      const body = JSON.stringify(failure(message));
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}

/** What a socket on the HTTP port may hold: the connection keys of config `http` (schema.ts documents each). */
export type HttpConnectionBounds = Pick<
  HttpLimits,
  "maxConnections" | "maxConnectionsPerAddress" | "headersTimeoutMs" | "requestTimeoutMs" | "keepAliveTimeoutMs" | "idleTimeoutMs"
>;

export const DEFAULT_CONNECTION_BOUNDS: HttpConnectionBounds = defaultConfig.http;

/** What the HTTPS twin serves with: the MQTTS certificate and key (access/tls_material.ts). */
export interface TlsPair {
  cert: Buffer | string;
  key: Buffer | string;
}

const secureTwins = new WeakMap<Server, SecureServer>();

/** The HTTPS server `guardedServerFactory` built beside `server` (when given TLS material). */
export function secureTwinOf(server: Server): SecureServer | undefined {
  return secureTwins.get(server);
}

/**
 * Fastify's `serverFactory`: the server Fastify would build, with its handler guarded. Fastify
 * runs the router (and the query-string parser in it) synchronously inside the "request"
 * event, where a throw is an uncaught exception; the guard answers 500 instead and logs it.
 * Options are copied the way Fastify applies them to a server it builds itself, then the
 * connection bounds (`bounds`) applied over them.
 *
 * With `tls`, an HTTPS server is built too, on the same guarded handler (Fastify's routing: one
 * app, one set of routes and hooks, two listeners), with the same options, bounds and client
 * error answers; the open-connection caps count both servers' sockets together. Fastify
 * listens and closes only the HTTP one: the caller listens the twin (`secureTwinOf`).
 */
export function guardedServerFactory(logger: Logger, bounds: HttpConnectionBounds = DEFAULT_CONNECTION_BOUNDS, tls?: TlsPair) {
  return (handler: (request: IncomingMessage, response: ServerResponse) => void, options: Record<string, unknown>): Server => {
    // Node's checks of headers and request timeouts run this often (30 s by default).
    const httpOptions = { ...((options.http ?? {}) as Parameters<typeof createServer>[0] & object), connectionsCheckingInterval: checkingInterval(bounds) };
    const guarded = (request: IncomingMessage, response: ServerResponse) => {
      try {
        handler(request, response);
      } catch (err) {
        logger.error({ err }, "request escaped the HTTP router");
        if (response.headersSent) {
          response.destroy();
          return;
        }
        const body = JSON.stringify(failure("Internal server error"));
        response.writeHead(500, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) }).end(body);
      }
    };
    const open = new PendingConnections(bounds.maxConnections, bounds.maxConnectionsPerAddress);
    const server = createServer(httpOptions, guarded);
    applyFastifyOptions(server, options);
    boundConnections(server, bounds, logger, open);
    if (tls) {
      const secure = createSecureServer({ ...httpOptions, cert: tls.cert, key: tls.key }, guarded);
      applyFastifyOptions(secure, options);
      boundConnections(secure, bounds, logger, open);
      // Fastify installs its clientErrorHandler on its own server only.
      secure.on("clientError", clientErrorHandler(logger));
      // A failed handshake (plain HTTP to the TLS port, a client refusing the certificate).
      secure.on("tlsClientError", (err: Error & { code?: string }, socket: Socket) => {
        logger.debug({ code: err.code }, "https handshake failed");
        socket.destroy();
      });
      secureTwins.set(server, secure);
    }
    return server;
  };
}

function applyFastifyOptions(server: Server | SecureServer, options: Record<string, unknown>): void {
  if (typeof options.keepAliveTimeout === "number") server.keepAliveTimeout = options.keepAliveTimeout;
  if (typeof options.requestTimeout === "number") server.requestTimeout = options.requestTimeout;
  if (typeof options.connectionTimeout === "number") server.setTimeout(options.connectionTimeout);
  if (typeof options.maxRequestsPerSocket === "number" && options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
}

/**
 * Bounds what idle or slow sockets can hold on the HTTP port: open connections are capped in
 * all and per address (over a cap the socket is destroyed at once, before any byte is read);
 * a socket must complete its first request's headers within `headersTimeoutMs` of the accept
 * (Node's own headers timeout does not close a socket that never sends a byte, and its checks
 * run every `connectionsCheckingInterval`, 30 s by default: tightened above); later requests are held
 * to `headersTimeoutMs`/`requestTimeoutMs` by Node, idle keep-alive to `keepAliveTimeoutMs`.
 * Node's `requestTimeout` ends once the request is received: a long response (an SSE stream)
 * is not cut by it.
 */
/** Half the shortest timeout, between 100 ms and 1 s: a timeout is enforced at most this late. */
function checkingInterval(bounds: HttpConnectionBounds): number {
  const shortest = Math.min(...[bounds.headersTimeoutMs, bounds.requestTimeoutMs].filter((ms) => ms > 0), 2000);
  return Math.max(100, Math.min(1000, Math.floor(shortest / 2)));
}

function boundConnections(server: Server | SecureServer, bounds: HttpConnectionBounds, logger: Logger, open: PendingConnections): void {
  server.keepAliveTimeout = bounds.keepAliveTimeoutMs;
  // Socket inactivity, reads and writes alike: with no 'timeout' listener of ours Node destroys
  // the socket. A client that stops reading a large answer is cut here (SSE heartbeats keep a
  // quiet stream moving).
  server.timeout = bounds.idleTimeoutMs;
  // Said outright: a 'timeout' listener on the request or response (a library's) would
  // otherwise keep Node from destroying the socket.
  server.on("timeout", (socket: Socket) => socket.destroy());
  server.requestTimeout = bounds.requestTimeoutMs;
  server.headersTimeout = bounds.requestTimeoutMs > 0 ? Math.min(bounds.headersTimeoutMs, bounds.requestTimeoutMs) : bounds.headersTimeoutMs;
  // By remote address and port: on the HTTPS server "connection" gives the TCP socket and a
  // request the TLS socket over it, which report the same pair.
  const firstRequest = new Map<string, NodeJS.Timeout>();
  const keyOf = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "unknown";
    if (!open.admit(address)) {
      logger.debug({ remoteAddress: address, open: open.size }, "too many HTTP connections, socket closed");
      socket.on("error", () => undefined);
      socket.destroy();
      return;
    }
    const key = keyOf(socket);
    socket.once("close", () => {
      open.release(address);
      const timer = firstRequest.get(key);
      if (timer) {
        clearTimeout(timer);
        firstRequest.delete(key);
      }
    });
    if (bounds.headersTimeoutMs > 0) {
      const timer = setTimeout(() => socket.destroy(), bounds.headersTimeoutMs);
      timer.unref();
      firstRequest.set(key, timer);
    }
  });
  server.on("request", (request: IncomingMessage) => {
    const key = keyOf(request.socket);
    const timer = firstRequest.get(key);
    if (timer) {
      clearTimeout(timer);
      firstRequest.delete(key);
    }
  });
}
