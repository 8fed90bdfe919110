/**
 * The errors that happen outside a route's error handler: before routing (a URL the router
 * cannot decode), at the socket (a request Node's HTTP parser refuses), and anything that would
 * still escape the HTTP server's "request" event. Each becomes an answer in the API's envelope
 * (`{ status: false, message }`), never a process exit: no request may kill the server.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "../observability/logger.js";
import { failure } from "./envelope.js";

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

/**
 * Fastify's `serverFactory`: the server Fastify would build, with its handler guarded. Fastify
 * runs the router (and the query-string parser in it) synchronously inside the "request"
 * event, where a throw is an uncaught exception; the guard answers 500 instead and logs it.
 * Options are copied the way Fastify applies them to a server it builds itself.
 */
export function guardedServerFactory(logger: Logger) {
  return (handler: (request: IncomingMessage, response: ServerResponse) => void, options: Record<string, unknown>): Server => {
    const server = createServer((options.http ?? {}) as Parameters<typeof createServer>[0] & object, (request, response) => {
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
    });
    if (typeof options.keepAliveTimeout === "number") server.keepAliveTimeout = options.keepAliveTimeout;
    if (typeof options.requestTimeout === "number") server.requestTimeout = options.requestTimeout;
    if (typeof options.connectionTimeout === "number") server.setTimeout(options.connectionTimeout);
    if (typeof options.maxRequestsPerSocket === "number" && options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}
