import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { SluiceError, unauthorized } from "../../errors.js";
import { normalizeEmail } from "../../identity/email.js";
import type { LoginThrottle } from "../../identity/login_throttle.js";
import { checkPasswordPolicy } from "../../identity/passwords.js";
import type { IdentityService } from "../../identity/service.js";
import type { SessionService } from "../../identity/sessions.js";
import type { UserService } from "../../identity/users.js";
import type { UserRow } from "../../store/types.js";
import { requireCsrfHeader } from "../auth.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";
import { clearSessionCookie, sessionCookies, setSessionCookie } from "../session_cookie.js";
import { parseExpireTime } from "./device_token.js";

export interface LoginRouteDeps {
  identity: IdentityService;
  users: UserService;
  sessions: SessionService;
  throttle: LoginThrottle;
  /** A setup link was used: its file has served (server.ts removes it). */
  setupCompleted?(user: UserRow): void;
}

/** The one answer to a wrong email, a wrong password, or a user without a password yet. */
const WRONG_CREDENTIALS = "Wrong email or password";

const email = { type: "string", minLength: 1, maxLength: 254 } as const;
const password = { type: "string", minLength: 1, maxLength: 1024 } as const;

/**
 * For the PUBLIC slot: signing in and out, without a token.
 *
 * - `POST /account/login` `{ email, password }` (the SDK's `Account.login`): TagoIO's
 *   LoginResponse `{ type: "user", id, email, company, name, profiles: [{ id, account, name,
 *   logo_url }] }`, and a session: the `sluice_session` cookie (session_cookie.ts).
 * - `POST /account/profile/token` `{ profile_id, email, password, name, expire_time? }` (the
 *   SDK's `Account.tokenCreate`): a new account token `{ token, name, expire_date }`; no cookie.
 * - `POST /account/setup` `{ token, password }`: sets a user's first password through its
 *   one-time setup link (the admin's, made on first start), then signs in like a login.
 * - `POST /account/logout`: ends the cookie's session and clears the cookie.
 *
 * A wrong email and a wrong password get the same 401 after the same work (one password
 * hash), and failures are throttled per address and per email (identity/login_throttle.ts).
 * Neither a password nor a cookie is ever logged: bodies are not logged, and the cookie is a
 * header.
 */
export function loginRoutes(deps: LoginRouteDeps): FastifyPluginAsync {
  const { identity, users, sessions, throttle } = deps;

  /** Checks an email and password under the throttle; 401 when wrong, 429 when too soon. */
  async function checkCredentials(request: FastifyRequest, emailInput: string, passwordInput: string): Promise<UserRow> {
    const address = request.ip;
    const key = normalizeEmail(emailInput);
    const done = throttle.begin(address, key);
    try {
      const user = await users.verify(key, passwordInput);
      if (!user) {
        throttle.fail(address, key);
        throw unauthorized(WRONG_CREDENTIALS);
      }
      throttle.succeed(key);
      return user;
    } finally {
      done();
    }
  }

  async function signIn(request: FastifyRequest, reply: FastifyReply, user: UserRow) {
    await users.signedIn(user);
    const { token } = await sessions.start(user);
    setSessionCookie(request, reply, token, Math.floor(sessions.maxAgeMs / 1000));
    const account = await identity.getAccount(user.accountId);
    return ok({
      type: "user", id: user.id, email: user.email, company: account.name, name: user.name,
      profiles: [{ id: account.id, account: account.id, name: account.name, logo_url: null }],
    });
  }

  return async (app) => {
    documentRoutes(app, { tag: TAGS.users.name });
    app.post<{ Body: { email: string; password: string } }>(
      "/account/login",
      // Other TagoIO fields (otp_type, pin_code) are accepted and ignored: Sluice has no second factor yet.
      { schema: { body: { type: "object", required: ["email", "password"], properties: { email, password } } } },
      async (request, reply) => signIn(request, reply, await checkCredentials(request, request.body.email, request.body.password)),
    );

    app.post<{ Body: { profile_id?: string; email: string; password: string; name: string; expire_time?: string } }>(
      "/account/profile/token",
      {
        schema: {
          body: {
            type: "object",
            required: ["email", "password", "name"],
            properties: {
              profile_id: { type: "string", minLength: 1, maxLength: 100 }, email, password,
              name: { type: "string", minLength: 1, maxLength: 200 }, expire_time: { type: "string", minLength: 1, maxLength: 100 },
            },
          },
        },
      },
      async (request) => {
        const user = await checkCredentials(request, request.body.email, request.body.password);
        const profile = request.body.profile_id ?? "current";
        if (profile !== "current" && profile !== user.accountId) throw new SluiceError("NOT_FOUND", "profile not found", 404);
        const { row, token } = await identity.issueAccountToken(user.accountId, { name: request.body.name, expiresAt: parseExpireTime(request.body.expire_time) });
        return ok({ token, name: row.name, expire_date: row.expiresAt?.toISOString() ?? "never" });
      },
    );

    app.post<{ Body: { token: string; password: string } }>(
      "/account/setup",
      { schema: { body: { type: "object", required: ["token", "password"], properties: { token: { type: "string", minLength: 1, maxLength: 200 }, password } } } },
      async (request, reply) => {
        // The policy first: a password it refuses costs no hash and no wait.
        checkPasswordPolicy(request.body.password);
        // Setup tokens are 256 random bits: the throttle only keeps a client from spending hashes.
        const done = throttle.begin(request.ip);
        let user: UserRow | undefined;
        try {
          user = await users.completeSetup(request.body.token, request.body.password);
          if (!user) throttle.fail(request.ip);
        } finally {
          done();
        }
        if (!user) throw new SluiceError("SETUP_LINK_INVALID", "This setup link is not valid: it was used already or has expired", 401);
        deps.setupCompleted?.(user);
        return signIn(request, reply, user);
      },
    );

    app.post("/account/logout", async (request, reply) => {
      const values = sessionCookies(request.headers);
      if (values.length > 0) {
        requireCsrfHeader(request);
        for (const value of values) await sessions.end(value);
      }
      clearSessionCookie(request, reply);
      return ok("Signed out");
    });
  };
}
