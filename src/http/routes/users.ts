import type { FastifyPluginAsync } from "fastify";
import { SluiceError } from "../../errors.js";
import type { LoginThrottle } from "../../identity/login_throttle.js";
import type { IdentityService } from "../../identity/service.js";
import type { UserService } from "../../identity/users.js";
import type { UserRow } from "../../store/types.js";
import { accountPrincipalOf, refuseAnalysisToken } from "../auth.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";

export interface UserRouteDeps {
  identity: IdentityService;
  users: UserService;
  throttle: LoginThrottle;
}

export function userItem(user: UserRow) {
  return { id: user.id, email: user.email, name: user.name, created_at: user.createdAt.toISOString(), last_login: user.lastLogin?.toISOString() ?? null };
}

const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1, maxLength: 100 } } } as const;
const password = { type: "string", minLength: 1, maxLength: 1024 } as const;

/**
 * For the ACCOUNT slot (a token, or a signed-in session's cookie): the account's users
 * (docs/accounts.md, "Users").
 *
 * - `GET /account/session`: who is asking: `{ account, user, via }`; `user` is null for a token.
 *   The console calls it on load: a 401 means "sign in".
 * - `GET /account/user`: `[{ id, email, name, created_at, last_login }]`.
 * - `POST /account/user` `{ email, name, password }`: a new user (password: 8+ characters).
 * - `DELETE /account/user/:id`: deletes it and ends its sessions; not the last user (409).
 * - `POST /account/passwordreset` `{ password, current_password }` (the SDK's
 *   `passwordChange` path): the signed-in user's own password; needs the session (a token has
 *   no user) and the current password, throttled like sign-ins; the user's other sessions end.
 *
 * An analysis token may not manage users (403): a leaked script token must not leave a
 * password behind that outlives its regeneration.
 */
export function userRoutes(deps: UserRouteDeps): FastifyPluginAsync {
  const { identity, users, throttle } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.users.name });
    app.get("/account/session", async (request) => {
      const principal = accountPrincipalOf(request);
      const account = await identity.getAccount(principal.accountId);
      const user = principal.session ? await users.get(account.id, principal.session.userId) : null;
      return ok({
        account: { id: account.id, name: account.name, admin: account.admin },
        user: user && userItem(user),
        via: principal.session ? "session" : principal.analysisId !== null ? "analysis_token" : "token",
        ...(principal.session && { expire_time: principal.expiresAt?.toISOString() }),
      });
    });

    app.get("/account/user", async (request) => {
      refuseAnalysisToken(request, "manage users");
      return ok((await users.list(accountPrincipalOf(request).accountId)).map(userItem));
    });

    app.post<{ Body: { email: string; name: string; password: string } }>(
      "/account/user",
      {
        schema: {
          body: {
            type: "object", required: ["email", "name", "password"],
            properties: { email: { type: "string", minLength: 1, maxLength: 254 }, name: { type: "string", minLength: 1, maxLength: 200 }, password },
          },
        },
      },
      async (request) => {
        refuseAnalysisToken(request, "manage users");
        return ok(userItem(await users.create(accountPrincipalOf(request).accountId, request.body)));
      },
    );

    app.delete<{ Params: { id: string } }>("/account/user/:id", { schema: { params: idParams } }, async (request) => {
      refuseAnalysisToken(request, "manage users");
      await users.remove(accountPrincipalOf(request).accountId, request.params.id);
      return ok("User Successfully Removed");
    });

    app.post<{ Body: { password: string; current_password?: string } }>(
      "/account/passwordreset",
      { schema: { body: { type: "object", required: ["password"], properties: { password, current_password: password } } } },
      async (request) => {
        refuseAnalysisToken(request, "change passwords");
        const principal = accountPrincipalOf(request);
        if (!principal.session) {
          throw new SluiceError("FORBIDDEN", "a password belongs to a user: sign in as the user (POST /account/login) to change it", 403);
        }
        if (request.body.current_password === undefined) throw new SluiceError("INVALID_INPUT", "current_password is required", 400);
        const user = await users.get(principal.accountId, principal.session.userId);
        const done = throttle.begin(request.ip, user.email);
        let changed: boolean;
        try {
          changed = await users.changePassword(principal.accountId, user.id, request.body.current_password, request.body.password, principal.session.id);
          if (changed) throttle.succeed(user.email);
          else throttle.fail(request.ip, user.email);
        } finally {
          done();
        }
        if (!changed) throw new SluiceError("WRONG_PASSWORD", "current_password is not the user's password", 403);
        return ok("Password Successfully Changed");
      },
    );
  };
}
