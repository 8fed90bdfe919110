/**
 * The console's one way to the HTTP API: the same public routes the SDK calls, answered in
 * TagoIO's envelope. Authentication is the session cookie set by `POST /account/login`
 * (HttpOnly, so no script ever reads it); every request carries `X-Sluice-Csrf`, which the
 * server requires of cookie-authenticated writes (docs/security.md).
 */
import type { Envelope } from "../../../src/http/api_types.js";

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The API's own words (`message` of the envelope), shown to the user as they are. */
    message: string,
    /** What a failure answer carries beside its message (a failed parser test's kind, line and console lines). */
    readonly result?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type QueryValue = string | number | boolean | undefined | null | QueryValue[] | { [key: string]: QueryValue };

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  signal?: AbortSignal;
  /**
   * Without the session: no cookie and no `X-Sluice-Csrf` (the public share view, whose only
   * credential is the link's key; it must never act as whoever is signed in on this browser).
   */
  anonymous?: boolean;
}

/** Called when any request answers 401: the session ended (expired, signed out elsewhere). */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = options.anonymous ? {} : { "x-sluice-csrf": "1" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path + queryString(options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: options.anonymous ? "omit" : "same-origin",
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "The server cannot be reached");
  }
  const envelope = await parseEnvelope<T>(response);
  if (envelope.status) return envelope.result;
  if (response.status === 401 && !options.anonymous && !path.startsWith("/account/login")) onUnauthorized();
  throw new ApiError(response.status, envelope.message, envelope.result);
}

async function parseEnvelope<T>(response: Response): Promise<Envelope<T>> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as Envelope<T>;
    if (typeof parsed === "object" && parsed !== null && typeof parsed.status === "boolean") return parsed;
  } catch {
    // Not JSON: a proxy's page, a cut connection. Say so rather than guess.
  }
  return { status: false, message: `HTTP ${response.status}: the answer was not the API's JSON` };
}

export const get = <T>(path: string, query?: Record<string, QueryValue>, signal?: AbortSignal) => request<T>("GET", path, { query, signal });
/** A GET without the session (`RequestOptions.anonymous`). */
export const getAnonymous = <T>(path: string, query?: Record<string, QueryValue>, signal?: AbortSignal) => request<T>("GET", path, { query, signal, anonymous: true });
export const post = <T>(path: string, body?: unknown) => request<T>("POST", path, { body: body ?? {} });
export const put = <T>(path: string, body?: unknown) => request<T>("PUT", path, { body: body ?? {} });
export const del = <T>(path: string, query?: Record<string, QueryValue>) => request<T>("DELETE", path, { query });

/** Bracket notation, as the API parses it: `filter[tags][0][key]=site&fields=id,name`. */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return "";
  const parts: string[] = [];
  const add = (key: string, value: QueryValue): void => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) value.forEach((v, i) => add(`${key}[${i}]`, v));
    else if (typeof value === "object") for (const [k, v] of Object.entries(value)) add(`${key}[${k}]`, v);
    else parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  };
  for (const [key, value] of Object.entries(query)) add(key, value);
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

/**
 * Path segments from user data (ids, tokens) always go through this. `.` and `..` are refused:
 * encoded or not, the browser resolves them as a path's own dots (`/share/../dashboard` is
 * `/dashboard`), so a value from the address could aim a request at another route.
 */
export const seg = (value: string): string => {
  if (value === "." || value === "..") throw new ApiError(400, `"${value}" is not an id`);
  return encodeURIComponent(value);
};
