import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { invalid, SluiceError } from "../../errors.js";
import type { IdentityService } from "../../identity/service.js";
import type { Limits } from "../../limits/limits.js";
import { planJson } from "../../limits/plans.js";
import { profileSummary, usageReport, type UsageDeps } from "../../limits/usage.js";
import type { AccountRow } from "../../store/types.js";
import { accountOf, refuseAnalysisToken } from "../auth.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";

export interface AccountRouteDeps extends UsageDeps {
  identity: IdentityService;
  limits: Limits;
}

function accountInfo(account: AccountRow, limits: Limits) {
  return { id: account.id, name: account.name, plan: limits.planOf(account.id).name, admin: account.admin, created_at: account.createdAt.toISOString() };
}

/**
 * The account itself, for the ACCOUNT slot: `GET /account` (its info and plan), `GET
 * /account/usage` (consumption against the plan), `GET /profile/:id/summary` (the same in
 * TagoIO's profile shape; `:id` is the account id or `current`), `GET /plan` (the defined
 * plans). The admin account (the one Sluice created on first start) also manages accounts:
 * `GET /admin/account`, `POST /admin/account` `{ name, plan? }`, `PUT /admin/account/:id/plan`
 * `{ plan }` (null: back to the default plan).
 */
export function accountRoutes(deps: AccountRouteDeps): FastifyPluginAsync {
  const { identity, limits } = deps;
  const requireAdmin = async (request: FastifyRequest) => {
    refuseAnalysisToken(request, "manage accounts");
    if (!(await identity.getAccount(accountOf(request))).admin) throw new SluiceError("FORBIDDEN", "only the admin account manages accounts", 403);
  };
  const planName = (value: unknown): string | null => {
    if (value === null) return null;
    if (typeof value !== "string" || !limits.plans.has(value)) throw invalid(`plan must be one of ${[...limits.plans.keys()].join(", ")} (or null for the default)`);
    return value;
  };

  return async (app) => {
    documentRoutes(app, { tag: TAGS.account.name });
    app.get("/account", async (request) => ok(accountInfo(await identity.getAccount(accountOf(request)), limits)));
    app.get("/account/usage", async (request) => ok(await usageReport(deps, accountOf(request))));
    app.get<{ Params: { id: string } }>("/profile/:id/summary", async (request) => {
      const accountId = accountOf(request);
      if (request.params.id !== "current" && request.params.id !== accountId) throw new SluiceError("NOT_FOUND", "profile not found", 404);
      return ok(await profileSummary(deps, accountId));
    });
    app.get("/plan", async () => ok([...limits.plans.values()].map(planJson)));

    app.get("/admin/account", { preHandler: requireAdmin }, async () => ok((await identity.listAccounts()).map((a) => accountInfo(a, limits))));
    app.post<{ Body: { name?: unknown; plan?: unknown } }>("/admin/account", { preHandler: requireAdmin }, async (request) => {
      const { name, plan } = request.body ?? {};
      if (typeof name !== "string" || name.trim() === "") throw invalid("name is required");
      const chosen = plan === undefined ? null : planName(plan);
      const created = await identity.createAccount(name.trim(), chosen === null ? {} : { plan: chosen });
      limits.assign(created.accountId, chosen);
      return ok({ account_id: created.accountId, token: created.token });
    });
    app.put<{ Params: { id: string }; Body: { plan?: unknown } }>("/admin/account/:id/plan", { preHandler: requireAdmin }, async (request) => {
      const plan = planName(request.body?.plan);
      await identity.setAccountPlan(request.params.id, plan);
      limits.assign(request.params.id, plan);
      return ok("Successfully Updated");
    });
  };
}
