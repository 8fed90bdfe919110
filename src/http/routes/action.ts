import type { FastifyPluginAsync } from "fastify";
import type { ActionInput, ActionService } from "../../pipeline/action_service.js";
import { actionInfo } from "../../pipeline/action_model.js";
import type { ActionCreatedJson } from "../api_types.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";
import { applyListQuery, listQuerySchema, type ListQuery } from "../listing.js";
import { documentRoutes, TAGS } from "../openapi.js";

/** `/action`: TagoIO's actions API, as `Resources.actions` calls it. */
export function actionRoutes(deps: { actions: ActionService }): FastifyPluginAsync {
  return async (app) => {
    documentRoutes(app, { tag: TAGS.actions.name });
    app.get<{ Querystring: ListQuery }>(
      "/action",
      { schema: { querystring: listQuerySchema(["name", "active", "last_triggered", "created_at", "updated_at"]) } },
      async (request) =>
        ok(applyListQuery(deps.actions.list(accountOf(request)).map(actionInfo), request.query, { defaultOrder: "name,asc", alwaysFields: ["id"] })),
    );
    app.post<{ Body: ActionInput }>("/action", async (request) => {
      const action = await deps.actions.create(accountOf(request), request.body ?? {});
      const created: ActionCreatedJson = { action: action.id };
      return ok(created);
    });
    app.get<{ Params: { id: string } }>("/action/:id", async (request) => ok(actionInfo(deps.actions.get(accountOf(request), request.params.id))));
    app.put<{ Params: { id: string }; Body: ActionInput }>("/action/:id", async (request) => {
      await deps.actions.edit(accountOf(request), request.params.id, request.body ?? {});
      return ok("Successfully Updated");
    });
    app.delete<{ Params: { id: string } }>("/action/:id", async (request) => {
      await deps.actions.delete(accountOf(request), request.params.id);
      return ok("Successfully Removed");
    });
  };
}
