/**
 * Query strings in the bracket notation the TagoIO SDK sends (it encodes with `qs`):
 * `fields[0]=id&filter[tags][0][key]=k` → `{ fields: ["id"], filter: { tags: [{ key: "k" }] } }`.
 * Node's `querystring` would leave those keys flat. Repeated keys (`a=1&a=2`) and `a[]=` become
 * arrays.
 *
 * Parsed by `qs` itself rather than by hand: every object it returns has a null prototype, so
 * a key such as `toString` or `hasOwnProperty` is plain data and nothing reaches
 * `Object.prototype` (`__proto__` is dropped). Code reading a query must therefore use
 * `Object.hasOwn`/`in`/`Object.entries`, never `query.hasOwnProperty(...)`.
 *
 * Every bound is enforced as a refusal (400), not by silently dropping keys, so a client learns
 * its filter was not applied instead of getting a wider result than it asked for.
 */
import qs from "qs";
import { SluiceError } from "../errors.js";

export type QueryValue = string | QueryValue[] | { [key: string]: QueryValue };
export type ParsedQuery = Record<string, QueryValue>;

export interface QueryBounds {
  /** Characters of the query string (after `?`), checked before any parsing. */
  maxBytes: number;
  /** `&`-separated parameters. */
  maxParameters: number;
  /** Bracket levels below the top key: `a[b][c]` is depth 2. */
  maxDepth: number;
}

/**
 * Largest array index (and element count) kept as an array. It also bounds the work of one
 * index: qs allocates up to the index before compacting, so `a[999999999]` must not pass.
 */
export const MAX_ARRAY_INDEX = 1000;

export const DEFAULT_QUERY_BOUNDS: QueryBounds = { maxBytes: 8 * 1024, maxParameters: 1000, maxDepth: 5 };

export const queryRefused = (message: string) => new SluiceError("INVALID_QUERY", message, 400);

/** Parses `input` (the text after `?`); throws `INVALID_QUERY` (400) past a bound. */
export function parseQueryString(input: string, bounds: QueryBounds = DEFAULT_QUERY_BOUNDS): ParsedQuery {
  if (input.length > bounds.maxBytes) throw queryRefused(`the query string is longer than ${bounds.maxBytes} characters`);
  if (input === "") return Object.create(null) as ParsedQuery;
  try {
    return qs.parse(input, {
      allowPrototypes: false,
      plainObjects: true,
      depth: bounds.maxDepth,
      strictDepth: true,
      parameterLimit: bounds.maxParameters,
      arrayLimit: MAX_ARRAY_INDEX,
      throwOnLimitExceeded: true,
      // `a[b]` only: `a.b` is an ordinary key for TagoIO's clients.
      allowDots: false,
    }) as ParsedQuery;
  } catch (err) {
    // qs reports its bounds as RangeError; anything else it throws is a bug worth a 500 in the log.
    if (err instanceof RangeError) throw queryRefused(`the query string is refused: ${boundMessage(err.message, bounds)}`);
    throw err;
  }
}

function boundMessage(qsMessage: string, bounds: QueryBounds): string {
  if (/depth/i.test(qsMessage)) return `keys may nest at most ${bounds.maxDepth} brackets deep`;
  if (/parameter/i.test(qsMessage)) return `at most ${bounds.maxParameters} parameters are accepted`;
  if (/array/i.test(qsMessage)) return `array indexes and lists stop at ${MAX_ARRAY_INDEX}`;
  return qsMessage;
}

/*
 * Fastify calls the query parser inside its router, outside any request's error handling: an
 * exception there escapes the HTTP server's "request" event. So the parser Fastify gets never
 * throws; it hands back an empty query marked with the refusal, and `queryRefusal` lets the
 * first hook of every route turn that into the 400 answer.
 */
const refusals = new WeakMap<object, Error>();

export function routerQueryParser(bounds: QueryBounds): (input: string) => ParsedQuery {
  return (input) => {
    try {
      return parseQueryString(input, bounds);
    } catch (err) {
      const marked = Object.create(null) as ParsedQuery;
      refusals.set(marked, err instanceof Error ? err : new Error(String(err)));
      return marked;
    }
  };
}

/** The error `routerQueryParser` met for this query, if any. */
export function queryRefusal(query: unknown): Error | undefined {
  return typeof query === "object" && query !== null ? refusals.get(query) : undefined;
}
