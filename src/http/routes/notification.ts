import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { invalid } from "../../errors.js";
import type { NotificationInput, NotificationService } from "../../notify/notification_service.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";
import { applyListQuery, listQuerySchema, type ListQuery } from "../listing.js";
import { documentRoutes, TAGS } from "../openapi.js";

/** Ids per `PUT /notification/read`: a bounded statement, and more than an account keeps by default. */
const MAX_IDS = 1000;
const ORDERABLE = ["created_at", "title", "read"];
const ORDER = new RegExp(`^(${ORDERABLE.join("|")}),(asc|desc)$`);

/**
 * `/notification`: TagoIO's notifications API, as `Resources.notifications` calls it. The list
 * comes unread first, then newest, unless `orderBy=created_at,asc|desc`; `filter[read]=false`
 * picks unread ones.
 */
export function notificationRoutes(deps: { notifications: NotificationService }): FastifyPluginAsync {
  return async (app) => {
    documentRoutes(app, { tag: TAGS.notifications.name });
    const list = async (request: FastifyRequest<{ Querystring: Omit<ListQuery, "orderBy"> & { orderBy?: string | string[] } }>) => {
      const { orderBy, ...rest } = request.query;
      // Resources.notifications.list sends `orderBy` as the SDK's tuple, not as "field,dir".
      const order = Array.isArray(orderBy) ? orderBy.join(",") : orderBy;
      if (order !== undefined && !ORDER.test(order)) throw invalid(`orderBy must be one of ${ORDERABLE.join(", ")} with asc or desc`);
      const items = (await deps.notifications.list(accountOf(request))) as unknown as Record<string, unknown>[];
      return ok(applyListQuery(items, { ...rest, ...(order ? { orderBy: order } : {}) }, { defaultOrder: "created_at,desc", alwaysFields: ["id"], presorted: true }));
    };
    const base = listQuerySchema(ORDERABLE);
    const listOptions = {
      schema: { querystring: { ...base, properties: { ...base.properties, orderBy: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] } } } },
    };
    // The SDK lists with a trailing slash (`/notification/`).
    app.get<{ Querystring: ListQuery }>("/notification", listOptions, list);
    app.get<{ Querystring: ListQuery }>("/notification/", listOptions, list);

    app.post<{ Body: NotificationInput }>("/notification", async (request) => {
      const info = await deps.notifications.send(accountOf(request), request.body ?? {});
      return ok({ id: info.id });
    });
    app.put<{ Body: { notification_ids?: unknown; read?: unknown } }>("/notification/read", async (request) => {
      const body = request.body ?? {};
      const ids = Array.isArray(body.notification_ids) ? body.notification_ids : [body.notification_ids];
      if (ids.length === 0 || ids.length > MAX_IDS || !ids.every((id) => typeof id === "string" && id !== "")) {
        throw invalid(`notification_ids must be a list of 1 to ${MAX_IDS} notification ids`);
      }
      if (body.read !== undefined && typeof body.read !== "boolean") throw invalid("read must be true or false");
      const n = await deps.notifications.setRead(accountOf(request), ids as string[], body.read !== false);
      return ok(`${n} notification${n === 1 ? "" : "s"} marked as ${body.read === false ? "unread" : "read"}`);
    });
    app.put("/notification/markallread", async (request) => {
      const n = await deps.notifications.markAllRead(accountOf(request));
      return ok(`${n} notification${n === 1 ? "" : "s"} marked as read`);
    });
    app.get<{ Params: { id: string } }>("/notification/:id", async (request) => ok(await deps.notifications.get(accountOf(request), request.params.id)));
    app.delete<{ Params: { id: string } }>("/notification/:id", async (request) => {
      await deps.notifications.remove(accountOf(request), request.params.id);
      return ok("Successfully Removed");
    });
  };
}
