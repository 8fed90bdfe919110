import type { FastifyPluginAsync } from "fastify";
import type { DeadLetterStore, DeadLetter } from "../../notify/sqlite/dead_letter_store.js";
import type { ActionService } from "../../pipeline/action_service.js";
import { notFound } from "../../errors.js";
import type { DeadLetterJson } from "../api_types.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";

/**
 * `/action/:id/dead_letters`: the webhook deliveries of a `post` action that failed for good,
 * newest first (`page`, `amount` up to 100); DELETE empties the list, DELETE
 * `/action/:id/dead_letters/:dead_letter` removes one. Sluice's own routes: TagoIO has no
 * such list. There is no retry: the headers were templated from the triggering message, which
 * is gone; the kept body is for replaying by hand.
 */
export function deadLetterRoutes(deps: { actions: ActionService; deadLetters: Pick<DeadLetterStore, "list" | "clear" | "remove"> }): FastifyPluginAsync {
  return async (app) => {
    documentRoutes(app, { tag: TAGS.actions.name });
    app.get<{ Params: { id: string }; Querystring: { page: number; amount: number } }>(
      "/action/:id/dead_letters",
      {
        schema: {
          querystring: {
            type: "object",
            properties: { page: { type: "integer", minimum: 1, default: 1 }, amount: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          },
        },
      },
      async (request) => {
        const accountId = accountOf(request);
        const action = deps.actions.get(accountId, request.params.id);
        const { page, amount } = request.query;
        return ok((await deps.deadLetters.list(accountId, action.id, amount, (page - 1) * amount)).map(deadLetterInfo));
      },
    );
    app.delete<{ Params: { id: string } }>("/action/:id/dead_letters", async (request) => {
      const accountId = accountOf(request);
      const action = deps.actions.get(accountId, request.params.id);
      const n = await deps.deadLetters.clear(accountId, action.id);
      return ok(`${n} dead letter${n === 1 ? "" : "s"} removed`);
    });
    app.delete<{ Params: { id: string; dead_letter: string } }>("/action/:id/dead_letters/:dead_letter", async (request) => {
      const accountId = accountOf(request);
      const action = deps.actions.get(accountId, request.params.id);
      if (!(await deps.deadLetters.remove(accountId, action.id, request.params.dead_letter))) throw notFound("Dead letter");
      return ok("1 dead letter removed");
    });
  };
}

function deadLetterInfo(d: DeadLetter): DeadLetterJson {
  let body: unknown = d.body;
  try {
    body = JSON.parse(d.body);
  } catch {
    // Kept cut short (see the store): shown as the text it is.
  }
  return {
    id: d.id, action: d.actionId, device: d.deviceId, url: d.url, status: d.status, attempts: d.attempts, error: d.error, body,
    first_attempt_at: d.firstAttemptAt.toISOString(), failed_at: d.failedAt.toISOString(),
  };
}
