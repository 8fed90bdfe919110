import type { FastifyReply, FastifyRequest } from "fastify";
import type { IncomingHttpHeaders } from "node:http";

/**
 * The sign-in session cookie (docs/security.md, "Sessions"): `sluice_session`, HttpOnly (no
 * script reads it), SameSite=Strict (no other site's page sends it), Path=/, Secure when the
 * request came over HTTPS (a browser then never sends it in clear), Max-Age = the session's
 * lifetime.
 */
export const SESSION_COOKIE = "sluice_session";

/**
 * The header a cookie-authenticated request other than GET/HEAD must carry, value `1`. A form
 * on another site cannot set a header, and a script there could only with CORS, which Sluice
 * never grants with credentials: its presence proves the request came from a page of this origin.
 */
export const CSRF_HEADER = "x-sluice-csrf";

/** More `sluice_session` cookies than this in one request are not tried (a client would send one). */
const MAX_SESSION_COOKIES = 3;

/**
 * The `sluice_session` values a request carries, in order. Several may arrive (a cookie set for
 * a parent domain or another path has the same name); each is tried, and only one can be a
 * live session of this server.
 */
export function sessionCookies(headers: IncomingHttpHeaders): string[] {
  const header = headers.cookie;
  if (typeof header !== "string" || header === "") return [];
  const values: string[] = [];
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (value !== "") values.push(value);
    if (values.length === MAX_SESSION_COOKIES) break;
  }
  return values;
}

/** Whether the request came over TLS to Sluice itself (its HTTPS port). */
export function overHttps(request: FastifyRequest): boolean {
  return request.protocol === "https";
}

function attributes(request: FastifyRequest, maxAgeSeconds: number): string {
  return `Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${overHttps(request) ? "; Secure" : ""}`;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  void reply.header("set-cookie", `${SESSION_COOKIE}=${token}; ${attributes(request, maxAgeSeconds)}`);
  // The answer names a session: no cache may keep it.
  void reply.header("cache-control", "no-store");
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  void reply.header("set-cookie", `${SESSION_COOKIE}=; ${attributes(request, 0)}`);
}
