import fastifyCors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

/**
 * Request headers a browser page may send: what the TagoIO SDK sends from a browser (`token`,
 * `Content-Type` on bodies, `Pragma` and `Cache-Control: no-cache` on every request), and
 * `Authorization`, the other way to carry a token (auth.ts).
 */
export const CORS_ALLOWED_HEADERS = ["token", "authorization", "content-type", "pragma", "cache-control", "last-event-id"];

/** Response headers a page may read beyond the safelisted ones: 429's wait, a cut `GET /data` page. */
export const CORS_EXPOSED_HEADERS = ["retry-after", "x-sluice-truncated"];

/** How long a browser may reuse a preflight's answer, seconds. */
const PREFLIGHT_MAX_AGE = 600;

/**
 * Cross-origin requests from the pages of `origins` (config `http.corsOrigins`; `*` for any).
 * Registered on the root instance before every other hook: a preflight (`OPTIONS` with
 * `Origin` and `Access-Control-Request-Method`) is answered 204 inside this hook, so it never
 * reaches authentication, plan admission or a route, and costs no account anything; the API's
 * answers (errors included) carry `Access-Control-Allow-Origin` for a listed origin. An origin
 * not listed gets no CORS header at all, its preflight the API's 404: the browser then refuses
 * the call. No cookies are involved (tokens travel in headers), so
 * credentials are never allowed. Not called when the list is empty: then Sluice sends no CORS
 * header and has no `OPTIONS` route.
 */
export async function installCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const any = origins.includes("*");
  const listed = new Set(origins);
  await app.register(fastifyCors, {
    // A function (not the list) so an origin not listed disables CORS for the request entirely,
    // preflight included, instead of answering it 204 without Allow-Origin. A request without
    // `Origin` is not a browser's cross-origin call: it gets no CORS header either.
    origin: (origin, done) => done(null, origin === undefined ? false : any ? "*" : listed.has(origin)),
    methods: ["GET", "HEAD", "POST", "PUT", "DELETE"],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE,
    // An `OPTIONS` from an allowed origin without `Access-Control-Request-Method` gets the same
    // 204 rather than @fastify/cors's text/plain 400: every error of the API is in its envelope.
    strictPreflight: false,
    // Fastify registers the `OPTIONS *` route this needs; not an API call, so not documented.
    hideOptionsRoute: true,
  });
}
