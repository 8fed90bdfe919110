import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { parseRelativeFuture } from "../../data/dates.js";
import { invalid } from "../../errors.js";
import type { IdentityService } from "../../identity/service.js";
import type { DeviceTokenRow, Permission } from "../../store/types.js";
import { accountOf, mintingTokenOf } from "../auth.js";
import type { DeviceTokenCreatedJson, DeviceTokenJson } from "../api_types.js";
import { ok } from "../envelope.js";
import { applyListQuery, listQuerySchema, type ApiItem, type ListQuery } from "../listing.js";
import { documentRoutes, TAGS } from "../openapi.js";

/**
 * TagoIO's device tokens: `GET /device/token/:deviceId`, `POST /device/token` (the SDK sends the
 * device in the body; `POST /device/token/:deviceId` works too) and `DELETE /device/token/:token`.
 * Tokens are stored hashed, so the full token appears once, in the create response; lists show
 * the stored prefix masked, plus the token's id, which DELETE accepts in place of the token.
 * A token created with an analysis token is bound to it (`minted_by`) and revoked when that
 * analysis token is regenerated.
 */
interface TokenBody {
  device?: string;
  name?: string;
  permission?: Permission;
  expire_time?: string;
  serie_number?: string;
}

const tokenProperties = {
  name: { type: "string", minLength: 1 },
  permission: { type: "string", enum: ["full", "write", "read"] },
  // JSON turns the SDK's Date into an ISO string; "never" is TagoIO's "does not expire".
  expire_time: { type: "string", minLength: 1 },
  serie_number: { type: "string" },
  verification_code: { type: "string" },
  middleware: { type: "string" },
} as const;

const deviceParams = {
  type: "object",
  required: ["deviceId"],
  properties: { deviceId: { type: "string", minLength: 1 } },
} as const;

/**
 * `"never"` or absent → no expiry; otherwise a date, or a duration from now ("1 month", as
 * TagoIO takes it), that must lie in the future.
 */
export function parseExpireTime(value: string | undefined, now = new Date()): Date | null {
  if (value === undefined || value.toLowerCase() === "never") return null;
  const date = parseRelativeFuture(value, now) ?? new Date(value);
  if (Number.isNaN(date.getTime())) throw invalid(`expire_time must be "never" or an ISO date, or a duration like "1 month", got "${value}"`);
  if (date.getTime() <= now.getTime()) throw invalid("expire_time must be in the future");
  return date;
}

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/** DeviceTokenRow → TagoIO's DeviceTokenData, with the token masked and the id added. */
export function tokenListItem(row: DeviceTokenRow): DeviceTokenJson {
  return {
    id: row.id,
    token: `${row.prefix}-****`,
    name: row.name,
    permission: row.permission,
    device_id: row.deviceId,
    serie_number: row.serieNumber,
    expire_time: iso(row.expiresAt) ?? "never",
    created_at: row.createdAt.toISOString(),
    last_authorization: iso(row.lastAuthorization),
    // Sluice's: the analysis token (account token id) that created it, revoked with it when
    // that token is regenerated; null otherwise.
    minted_by: row.mintedBy,
  };
}

export function deviceTokenRoutes(deps: { identity: IdentityService }): FastifyPluginAsync {
  const { identity } = deps;

  async function create(request: FastifyRequest, deviceId: string, body: TokenBody) {
    const { row, token } = await identity.createToken(accountOf(request), deviceId, {
      name: body.name,
      permission: body.permission,
      expiresAt: parseExpireTime(body.expire_time),
      serieNumber: body.serie_number ?? null,
    }, mintingTokenOf(request));
    return ok({ id: row.id, token, name: row.name, permission: row.permission, expire_date: iso(row.expiresAt) ?? "never" } satisfies DeviceTokenCreatedJson);
  }

  return async (app) => {
    documentRoutes(app, { tag: TAGS.deviceTokens.name });
    app.get<{ Params: { deviceId: string }; Querystring: ListQuery }>(
      "/device/token/:deviceId",
      { schema: { params: deviceParams, querystring: listQuerySchema(["name", "permission", "serie_number", "last_authorization", "created_at"]) } },
      async (request) => {
        const rows = await identity.listTokens(accountOf(request), request.params.deviceId);
        const items: ApiItem[] = rows.map((row) => ({ ...tokenListItem(row) }));
        return ok(applyListQuery(items, request.query, { defaultOrder: "created_at,desc", alwaysFields: ["id"] }));
      },
    );

    app.post<{ Body: TokenBody }>(
      "/device/token",
      { schema: { body: { type: "object", required: ["device"], properties: { device: { type: "string", minLength: 1 }, ...tokenProperties } } } },
      async (request) => create(request, request.body.device!, request.body),
    );

    app.post<{ Params: { deviceId: string }; Body: TokenBody | undefined }>(
      "/device/token/:deviceId",
      { schema: { params: deviceParams, body: { type: ["object", "null"], properties: tokenProperties } } },
      async (request) => create(request, request.params.deviceId, request.body ?? {}),
    );

    app.delete<{ Params: { token: string } }>(
      "/device/token/:token",
      { schema: { params: { type: "object", required: ["token"], properties: { token: { type: "string", minLength: 1 } } } } },
      async (request) => {
        await identity.revokeToken(accountOf(request), request.params.token);
        return ok("Token Successfully Removed");
      },
    );
  };
}
