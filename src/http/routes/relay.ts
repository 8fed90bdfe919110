import type { FastifyPluginAsync } from "fastify";
import type { RelayService } from "../../relay/relay_service.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";

/** `/relay`: MQTT relays to external brokers (docs/relay.md). Secrets are never returned, only masked. */
export function relayRoutes(deps: { relays: RelayService }): FastifyPluginAsync {
  return async (app) => {
    documentRoutes(app, { tag: TAGS.relays.name });
    app.get("/relay", async (request) => ok(deps.relays.list(accountOf(request))));
    app.post<{ Body: unknown }>("/relay", async (request) => ok({ relay: await deps.relays.create(accountOf(request), request.body ?? {}) }));
    app.get<{ Params: { id: string } }>("/relay/:id", async (request) => ok(deps.relays.get(accountOf(request), request.params.id)));
    app.get<{ Params: { id: string } }>("/relay/:id/status", async (request) => ok(deps.relays.status(accountOf(request), request.params.id)));
    app.put<{ Params: { id: string }; Body: unknown }>("/relay/:id", async (request) => {
      await deps.relays.edit(accountOf(request), request.params.id, request.body ?? {});
      return ok("Successfully Updated");
    });
    app.delete<{ Params: { id: string } }>("/relay/:id", async (request) => {
      await deps.relays.delete(accountOf(request), request.params.id);
      return ok("Successfully Removed");
    });
  };
}
