import { SluiceError } from "../errors.js";
import type { ServerTarget } from "./local_server.js";

export type QueryParams = Record<string, string | number | string[] | undefined>;

const TIMEOUT_MS = 10_000;

/** Error codes by HTTP status, matching the ones the server raised (see src/errors.ts). */
export const codeFor = (status: number): string =>
  status === 400 ? "INVALID_INPUT" : status === 401 ? "UNAUTHORIZED" : status === 404 ? "NOT_FOUND" : `HTTP_${status}`;

/** Minimal client for Sluice's REST API: sends the account token, unwraps TagoIO's envelope. */
export class ApiClient {
  constructor(private readonly target: ServerTarget) {}

  get<T>(path: string, query?: QueryParams): Promise<T> {
    return this.request<T>("GET", path, { query });
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, { body });
  }
  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }

  async request<T>(method: string, path: string, options: { query?: QueryParams; body?: unknown } = {}): Promise<T> {
    const url = new URL(this.target.url + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item));
    }
    const headers: Record<string, string> = { token: this.target.token };
    if (options.body !== undefined) headers["content-type"] = "application/json";

    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      // fetch only says "fetch failed"; the reason (ECONNREFUSED, bad port, ...) is in its cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new SluiceError("UNREACHABLE", `cannot reach Sluice at ${this.target.url} (${reason}): is it running?`);
    }

    const envelope = await readEnvelope(response);
    if (envelope === undefined) {
      throw new SluiceError("BAD_RESPONSE", `${method} ${url.pathname}: HTTP ${response.status} without a Sluice JSON response`);
    }
    if (envelope.status !== true) {
      const message = typeof envelope.message === "string" ? envelope.message : `HTTP ${response.status}`;
      throw new SluiceError(codeFor(response.status), message, response.status);
    }
    return envelope.result as T;
  }
}

async function readEnvelope(response: Response): Promise<{ status?: unknown; result?: unknown; message?: unknown } | undefined> {
  try {
    const body: unknown = await response.json();
    return typeof body === "object" && body !== null ? body : undefined;
  } catch {
    return undefined;
  }
}
