import type { FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import type { IncomingHttpHeaders } from "node:http";
import { invalid, SluiceError, unauthorized } from "../errors.js";
import type { AccountPrincipal, DevicePrincipal, IdentityService } from "../identity/service.js";
import type { SessionPrincipal } from "../identity/sessions.js";
import type { Metrics } from "../observability/metrics.js";
import { CSRF_HEADER, sessionCookies } from "./session_cookie.js";

/**
 * The token a request carries: TagoIO's `token` header (what the SDK sends), else
 * `Authorization: Bearer X` or a bare `Authorization: X` (what curl users tend to send).
 */
export function requestToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.token;
  const token = Array.isArray(header) ? header[0] : header;
  if (token && token.trim() !== "") return token.trim();
  const authorization = headers.authorization?.trim();
  if (!authorization) return undefined;
  const bearer = /^bearer\s+(.+)$/i.exec(authorization);
  return bearer ? bearer[1]!.trim() : authorization;
}

// Kept beside the request rather than decorated onto FastifyRequest, so no global type
// augmentation is needed and a route that forgot the hook fails loudly instead of reading "".
const accounts = new WeakMap<FastifyRequest, AccountPrincipal>();

/** What resolves a `sluice_session` cookie value (identity/sessions.ts). */
export interface SessionAuthenticator {
  authenticate(token: string): Promise<SessionPrincipal | undefined>;
}

/** The live session among the request's `sluice_session` cookies, if any. */
export async function sessionOfRequest(request: FastifyRequest, sessions: SessionAuthenticator | undefined): Promise<SessionPrincipal | undefined> {
  if (!sessions) return undefined;
  for (const value of sessionCookies(request.headers)) {
    const session = await sessions.authenticate(value);
    if (session) return session;
  }
  return undefined;
}

/**
 * A signed-in session as an account principal: a full account token of its account, whose id
 * is the session's (so `revoked` events naming the session end its streams).
 */
export function sessionPrincipal(session: SessionPrincipal): AccountPrincipal {
  return {
    accountId: session.accountId, tokenId: session.sessionId, permission: "full", expiresAt: session.expiresAt, analysisId: null,
    session: { id: session.sessionId, userId: session.userId },
  };
}

/**
 * Who a request to the account API is. A token wins when one is sent (the `token` header or
 * Authorization; with `streamQuery`, also `?token=`), valid or not; without one, the session
 * cookie. `presented` says whether any credential came, for the message of a 401.
 */
export async function resolveAccount(
  request: FastifyRequest, identity: IdentityService, sessions: SessionAuthenticator | undefined, streamQuery = false,
): Promise<{ principal: AccountPrincipal | undefined; presented: boolean }> {
  const token = streamQuery ? streamToken(request) : requestToken(request.headers);
  if (token !== undefined) return { principal: await identity.authenticateAccountToken(token), presented: true };
  const session = await sessionOfRequest(request, sessions);
  if (session) return { principal: sessionPrincipal(session), presented: true };
  return { principal: undefined, presented: sessions !== undefined && sessionCookies(request.headers).length > 0 };
}

/**
 * A request authenticated by the session cookie changes nothing without `X-Sluice-Csrf: 1`
 * (GET and HEAD excepted, so EventSource works): see session_cookie.ts.
 */
export function requireCsrfHeader(request: FastifyRequest): void {
  if (request.method === "GET" || request.method === "HEAD") return;
  const header = request.headers[CSRF_HEADER];
  if ((Array.isArray(header) ? header[0] : header) !== "1") {
    throw new SluiceError("CSRF", `a request signed in by cookie must carry the header X-Sluice-Csrf: 1 (GET and HEAD excepted)`, 403);
  }
}

/**
 * For the few TagoIO GET routes that change something (`GET /analysis/:id/token` regenerates a
 * token, `GET /dashboard/:id/share/public` replaces the public link): signed in by cookie, they
 * need the CSRF header too, else a same-site page's `<img src>` (sibling subdomains are
 * same-site, so SameSite=Strict sends the cookie) could make them happen. Tokens are unaffected.
 */
export function requireCsrfForSessionGet(request: FastifyRequest): void {
  if (!accountPrincipalOf(request).session) return;
  const header = request.headers[CSRF_HEADER];
  if ((Array.isArray(header) ? header[0] : header) !== "1") {
    throw new SluiceError("CSRF", `this request changes something: signed in by cookie, it must carry the header X-Sluice-Csrf: 1`, 403);
  }
}

/**
 * onRequest hook for account routes: rejects with 401 before the body is even read. An account
 * token (header) or, without one, a signed-in session's cookie (`sessions`), which acts as a
 * full account token of its account, CSRF header required.
 */
export function accountAuth(identity: IdentityService, metrics: Metrics, sessions?: SessionAuthenticator): onRequestAsyncHookHandler {
  return async (request) => {
    const { principal, presented } = await resolveAccount(request, identity, sessions);
    if (principal === undefined) {
      metrics.authFailures.inc({ protocol: "http" });
      throw unauthorized(presented ? "Authorization denied" : "Authorization denied: send an account token in the `token` header");
    }
    if (principal.session) requireCsrfHeader(request);
    accounts.set(request, principal);
  };
}

/** The account `accountAuth` resolved for this request. */
export function accountOf(request: FastifyRequest): string {
  return accountPrincipalOf(request).accountId;
}

/** The account token `accountAuth` resolved for this request: which token, its permission. */
export function accountPrincipalOf(request: FastifyRequest): AccountPrincipal {
  const principal = accounts.get(request);
  if (principal === undefined) throw new Error(`route ${request.routeOptions.url} is missing the accountAuth hook`);
  return principal;
}

/**
 * The analysis token (its account token id) behind the request, or null for any other account
 * token: device tokens it creates are bound to it ("minted by"), and revoked when it is
 * regenerated (IdentityService.revokeMintedBy).
 */
export function mintingTokenOf(request: FastifyRequest): string | null {
  const principal = accountPrincipalOf(request);
  return principal.analysisId !== null ? principal.tokenId : null;
}

/**
 * The device behind the token, if the token's permission covers `need` (`full` covers both);
 * else 403 saying what the token may not do (`doing`: "read data", "change params"...).
 */
export function devicePermitted(request: FastifyRequest, need: "read" | "write", doing: string): DevicePrincipal {
  const principal = deviceOf(request);
  if (principal.permission !== "full" && principal.permission !== need) {
    throw new SluiceError("FORBIDDEN", `This token may not ${doing} (its permission is ${principal.permission})`, 403);
  }
  return principal;
}

/**
 * An analysis token has its account's rights, but must not mint or read credentials that would
 * outlive it: regenerating a leaked analysis token has to end what the leak gave. So it may not
 * create analyses (each comes with a full token), regenerate or read other analyses' tokens,
 * upload scripts (which would read the tokens they run with), manage account tokens, or act as
 * the admin.
 */
export function refuseAnalysisToken(request: FastifyRequest, doing: string): void {
  if (accountPrincipalOf(request).analysisId !== null) {
    throw new SluiceError("FORBIDDEN", `an analysis token may not ${doing}: use an account token`, 403);
  }
}

/** An analysis's token as the caller may see it: whole for account tokens and the analysis itself, masked for other analyses' tokens. */
export function analysisTokenFor(request: FastifyRequest, analysisId: string, token: string): string {
  const caller = accountPrincipalOf(request).analysisId;
  return caller === null || caller === analysisId ? token : `${token.slice(0, 8)}-****`;
}

const devices = new WeakMap<FastifyRequest, DevicePrincipal>();

/** onRequest hook for device-token routes (`/data`, `/info`, `/device/params`). */
export function deviceAuth(identity: IdentityService, metrics: Metrics): onRequestAsyncHookHandler {
  return async (request) => {
    const token = requestToken(request.headers);
    const principal = token === undefined ? undefined : await identity.authenticateDevice(token);
    if (principal === undefined) {
      metrics.authFailures.inc({ protocol: "http" });
      throw unauthorized(token === undefined ? "Authorization denied: send a device token in the `token` header" : "Authorization denied");
    }
    devices.set(request, principal);
  };
}

/** The device `deviceAuth` resolved for this request. */
export function deviceOf(request: FastifyRequest): DevicePrincipal {
  const principal = devices.get(request);
  if (principal === undefined) throw new Error(`route ${request.routeOptions.url} is missing the deviceAuth hook`);
  return principal;
}

/**
 * The token of a stream request: the `token` header, else `?token=`, because a browser's
 * EventSource cannot set headers (the URL then sits in proxy logs: use the header where the
 * client can). A repeated or structured `?token` is refused.
 */
export function streamToken(request: FastifyRequest): string | undefined {
  const header = requestToken(request.headers);
  if (header !== undefined) return header;
  const token = (request.query as Record<string, unknown> | undefined)?.token;
  if (token === undefined || token === "") return undefined;
  if (typeof token !== "string") throw invalid("token must be given once, as text");
  return token;
}
