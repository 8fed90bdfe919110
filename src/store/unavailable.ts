/**
 * The store cannot be reached right now (PostgreSQL down, restarting, unreachable, out of
 * connections): one typed error for every such failure, whatever driver or socket raised it,
 * so each boundary answers it the same way: HTTP 503, CONNACK 0x88 Server unavailable, a QoS
 * 1/2 PUBLISH left unacknowledged (docs/cluster.md, "When PostgreSQL is unreachable"). It is
 * temporary by nature: the pool opens new connections once the server answers again.
 *
 * Errors that say something about the request (a constraint, a syntax error, a bad value) are
 * not this: they keep their own meaning.
 */
import { SluiceError } from "../errors.js";

export class StoreUnavailable extends SluiceError {
  constructor(cause: unknown) {
    super("STORE_UNAVAILABLE", "the data store is unavailable; retry shortly", 503);
    this.name = "StoreUnavailable";
    this.cause = cause; // the driver's own error, for the log
  }
}

/** Socket errors meaning the server is not there (or went away). */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED"]);

/**
 * PostgreSQL SQLSTATEs meaning the server or the connection, not the statement: class 08
 * (connection exception), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now
 * (starting or stopping), 53300 too many connections, 53000 insufficient resources.
 */
const SERVER_STATES = new Set(["57P01", "57P02", "57P03", "53300", "53000"]);

/** What node-postgres and its pool say, without a code, when the connection is gone or never came. */
const DRIVER_MESSAGES = [
  "timeout exceeded when trying to connect",
  "Connection terminated",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable",
  "Cannot use a pool after calling end on the pool",
];

/** `err` as StoreUnavailable when it is one (or has one as its cause), else undefined. */
export function storeUnavailable(err: unknown): StoreUnavailable | undefined {
  if (err instanceof StoreUnavailable) return err;
  return unreachable(err, 0) ? new StoreUnavailable(err) : undefined;
}

function unreachable(err: unknown, depth: number): boolean {
  if (typeof err !== "object" || err === null || depth > 3) return false;
  const { code, message, cause, errors } = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && (NETWORK_CODES.has(code) || SERVER_STATES.has(code) || code.startsWith("08"))) return true;
  if (typeof message === "string" && DRIVER_MESSAGES.some((m) => message.startsWith(m))) return true;
  // A connection to a name with several addresses fails as an AggregateError of each attempt.
  if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => unreachable(e, depth + 1))) return true;
  return unreachable(cause, depth + 1);
}
