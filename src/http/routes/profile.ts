import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { SluiceError } from "../../errors.js";
import type { IdentityService } from "../../identity/service.js";
import type { AccountRow, AccountTokenRow } from "../../store/types.js";
import type { AccountTokenCreatedJson, AccountTokenJson } from "../api_types.js";
import { accountPrincipalOf, refuseAnalysisToken } from "../auth.js";
import { ok } from "../envelope.js";
import { applyListQuery, listQuerySchema, type ListQuery } from "../listing.js";
import { parseExpireTime } from "./device_token.js";
import { documentRoutes, TAGS } from "../openapi.js";

/**
 * TagoIO's profiles, as `Resources.profiles` calls them, for the ACCOUNT slot. Sluice has one
 * profile per account: its id is the account id, and `current` names it too. Another id is a
 * 404, the same answer as for an id that does not exist, so ids of other accounts stay unknown.
 *
 * - `GET /profile`, `GET /profile/:id`: the profile, so the SDK can discover its id.
 * - `GET /profile/:id/token`: the account tokens, masked (the token shows once, at creation),
 *   with their `id`, which `DELETE` takes in place of the token. Analysis tokens are listed,
 *   marked `type: "analysis"` with the analysis in `ref_id`.
 * - `POST /profile/:id/token` `{ name, permission?, expire_time? }` → `{ token, ... }`, once.
 *   TagoIO also asks for `email`/`password` here; the caller's token (or session) is the
 *   authentication and they are ignored (`POST /account/profile/token` takes them instead).
 * - `DELETE /profile/:id/token/:token` (the token or its id): revokes it; its streams close.
 *   Refused for an analysis's token and for the account's last full token (409, see
 *   `IdentityService.revokeAccountToken` and docs/accounts.md).
 *
 * Token management refuses analysis tokens (403): a script's token, shown on the analysis and
 * replaced by regenerating it, must not be able to mint tokens that outlive it.
 *
 * Nothing here logs a token: Fastify logs the URL, and a DELETE by token value puts the token
 * in it, so `http/server.ts` redacts the segment after `/token/` from logged URLs.
 */
export interface ProfileRouteDeps {
  identity: IdentityService;
  /** The name of the account's plan (TagoIO's `account_plan`). */
  planOf(accountId: string): string;
}

interface TokenBody {
  name?: string;
  permission?: "full" | "write" | "read";
  expire_time?: string;
}

const profileParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1 } } } as const;

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/** AccountTokenRow → TagoIO's TokenDataList, with the token masked and the id added. */
export function accountTokenItem(row: AccountTokenRow): AccountTokenJson {
  return {
    id: row.id,
    token: row.prefix === null ? "****" : `${row.prefix}-****`,
    name: row.name,
    type: row.analysisId === null ? "account" : "analysis",
    ref_id: row.analysisId,
    permission: row.permission,
    expire_time: iso(row.expiresAt) ?? "never",
    created_at: row.createdAt.toISOString(),
    last_authorization: iso(row.lastAuthorization),
    serie_number: null,
    verification_code: null,
    created_by: null,
  };
}

export function profileRoutes(deps: ProfileRouteDeps): FastifyPluginAsync {
  const { identity } = deps;

  /** The caller's own account, if `:id` names it. */
  async function profileOf(request: FastifyRequest<{ Params: { id: string } }>): Promise<AccountRow> {
    const { accountId } = accountPrincipalOf(request);
    if (request.params.id !== "current" && request.params.id !== accountId) throw new SluiceError("NOT_FOUND", "profile not found", 404);
    return identity.getAccount(accountId);
  }

  /** For the token routes: the caller's account, refusing analysis tokens. */
  async function managedBy(request: FastifyRequest<{ Params: { id: string } }>): Promise<string> {
    const account = await profileOf(request);
    refuseAnalysisToken(request, "manage account tokens");
    return account.id;
  }

  return async (app) => {
    documentRoutes(app, { tag: TAGS.profile.name });
    app.get("/profile", async (request) => {
      const account = await identity.getAccount(accountPrincipalOf(request).accountId);
      return ok([{ id: account.id, name: account.name, logo_url: null, account: account.id }]);
    });

    app.get<{ Params: { id: string } }>("/profile/:id", { schema: { params: profileParams } }, async (request) => {
      const account = await profileOf(request);
      const created = account.createdAt.toISOString();
      return ok({
        info: { id: account.id, account: account.id, name: account.name, logo_url: null, banner_url: null, created_at: created, updated_at: created },
        account_plan: deps.planOf(account.id),
        addons: { custom_dns: false, mobile: false },
      });
    });

    app.get<{ Params: { id: string }; Querystring: ListQuery }>(
      "/profile/:id/token",
      { schema: { params: profileParams, querystring: listQuerySchema(["name", "permission", "created_at", "last_authorization", "expire_time"]) } },
      async (request) => {
        const rows = await identity.listAccountTokens(await managedBy(request));
        return ok(applyListQuery(rows.map(accountTokenItem), request.query, { defaultOrder: "created_at,desc", alwaysFields: ["id", "type"] }));
      },
    );

    app.post<{ Params: { id: string }; Body: TokenBody }>(
      "/profile/:id/token",
      {
        schema: {
          params: profileParams,
          body: {
            type: "object",
            required: ["name"],
            // Other TagoIO fields (email, password, pin_code, otp_type) are accepted and ignored.
            properties: {
              name: { type: "string", minLength: 1, maxLength: 200 },
              permission: { type: "string", enum: ["full", "write", "read"] },
              expire_time: { type: "string", minLength: 1 },
            },
          },
        },
      },
      async (request) => {
        const accountId = await managedBy(request);
        const { row, token } = await identity.issueAccountToken(accountId, {
          name: request.body.name,
          permission: request.body.permission,
          expiresAt: parseExpireTime(request.body.expire_time),
        });
        const created: AccountTokenCreatedJson = { id: row.id, token, name: row.name, permission: row.permission, expire_date: iso(row.expiresAt) ?? "never" };
        return ok(created);
      },
    );

    app.delete<{ Params: { id: string; token: string } }>(
      "/profile/:id/token/:token",
      { schema: { params: { type: "object", required: ["id", "token"], properties: { id: { type: "string", minLength: 1 }, token: { type: "string", minLength: 1 } } } } },
      async (request) => {
        await identity.revokeAccountToken(await managedBy(request), request.params.token);
        return ok("Token Successfully Removed");
      },
    );
  };
}
