import type { FastifyError, FastifyInstance } from "fastify";
import { InvalidField, SluiceError } from "../errors.js";
import { LimitExceeded } from "../limits/errors.js";
import { storeUnavailable } from "../store/unavailable.js";
import { valueErrorMessage } from "../store/postgres/value_errors.js";

/** TagoIO's response envelopes; the SDK reads `result` when `status` is true, else `message`. */
export interface Success<T> {
  status: true;
  result: T;
}
export interface Failure {
  status: false;
  message: string;
  /** The body field refused, for input validated field by field (errors.ts `InvalidField`). */
  path?: string;
}

export const ok = <T>(result: T): Success<T> => ({ status: true, result });
export const failure = (message: string): Failure => ({ status: false, message });

/**
 * Makes every error leave as a `Failure` envelope: SluiceError with its own status, Fastify's
 * own client errors (validation, body parsing) as 4xx with a readable message, anything else
 * as a bare 500 whose details go to the log only.
 */
export function installEnvelope(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    // A route may set a smaller limit than the server's (POST /data: 200 kB); name the one that applied.
    const { status, message } = describeError(error, request.routeOptions.bodyLimit ?? bodyLimit);
    if (status === 503) request.log.warn({ err: error }, "request refused: the store is unavailable");
    else if (status >= 500) request.log.error({ err: error }, "request failed");
    if (error instanceof LimitExceeded && error.retryAfterSeconds !== undefined) void reply.header("retry-after", String(error.retryAfterSeconds));
    void reply.code(status).send(error instanceof InvalidField ? { ...failure(message), path: error.path } : failure(message));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0];
    void reply.code(404).send(failure(`Route ${request.method} ${path} not found`));
  });
}

export function describeError(error: unknown, bodyLimit: number): { status: number; message: string } {
  // TagoIO's wording, which clients may match: "Too many requests (Retry-After: 8)".
  if (error instanceof LimitExceeded && error.retryAfterSeconds !== undefined) {
    return { status: error.httpStatus, message: `Too many requests (Retry-After: ${error.retryAfterSeconds}): ${error.message}` };
  }
  if (error instanceof SluiceError) return { status: error.httpStatus, message: error.message };
  if (isFastifyClientError(error)) return { status: error.statusCode!, message: clientMessage(error, bodyLimit) };
  // The store out of reach is the server's state, not a defect: 503, and the client may retry.
  const down = storeUnavailable(error);
  if (down) return { status: down.httpStatus, message: down.message };
  const valueError = valueErrorMessage(error);
  if (valueError !== undefined) return { status: 400, message: valueError };
  return { status: 500, message: "Internal server error" };
}

/**
 * A 4xx from Fastify itself, or an `http-errors` error marked `expose` (safe to show: what
 * @fastify/static's file sender throws for a path it refuses, e.g. one holding `%00`).
 */
function isFastifyClientError(error: unknown): error is FastifyError {
  if (!(error instanceof Error)) return false;
  const { code, statusCode, validation } = error as Partial<FastifyError>;
  const fromFastify = validation !== undefined || (typeof code === "string" && code.startsWith("FST_"));
  const exposed = (error as { expose?: unknown }).expose === true;
  return (fromFastify || exposed) && typeof statusCode === "number" && statusCode >= 400 && statusCode < 500;
}

function clientMessage(error: FastifyError, bodyLimit: number): string {
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return "Body is not valid JSON";
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return `Body is larger than the limit of ${bodyLimit} bytes`;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "Body must be JSON (Content-Type: application/json)";
    default:
      // Validation messages already name the field, e.g. "body/name must NOT have fewer than 1 characters".
      return error.message;
  }
}
