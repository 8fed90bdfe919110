import type { FastifyPluginAsync } from "fastify";
import type { WidgetData } from "../../dashboards/widget_data.js";
import { dashboardInfo, widgetInfo } from "../../dashboards/model.js";
import type { DashboardService } from "../../dashboards/service.js";
import type { IdentityService } from "../../identity/service.js";
import { SluiceError } from "../../errors.js";
import { accountOf, requireCsrfForSessionGet } from "../auth.js";
import type { DashboardDeviceJson, DashboardJson } from "../api_types.js";
import { ok } from "../envelope.js";
import { applyListQuery, listQuerySchema, type ListQuery } from "../listing.js";
import { documentRoutes, TAGS } from "../openapi.js";
import { DATA_BODY_LIMIT, TRUNCATED_HEADER } from "./data.js";

export interface DashboardRouteDeps {
  dashboards: DashboardService;
  widgetData: WidgetData;
  identity: IdentityService;
}

const dashboardParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1, maxLength: 64 } } } as const;
const widgetParams = {
  type: "object",
  required: ["id", "widget"],
  properties: { id: { type: "string", minLength: 1, maxLength: 64 }, widget: { type: "string", minLength: 1, maxLength: 64 } },
} as const;
const dataParams = {
  type: "object",
  required: ["dashboard", "widget"],
  properties: { dashboard: { type: "string", minLength: 1, maxLength: 64 }, widget: { type: "string", minLength: 1, maxLength: 64 } },
} as const;

type DashboardParams = { Params: { id: string } };
type WidgetParams = { Params: { id: string; widget: string } };
type DataParams = { Params: { dashboard: string; widget: string } };

/**
 * TagoIO's dashboards as `Resources.dashboards` and `Resources.dashboards.widgets` call them
 * (docs/dashboards.md):
 * - `/dashboard`: list (TagoIO's list semantics), create, info, edit (with `arrangement`),
 *   delete, `duplicate`, `share/public` (the public link: GET makes it, DELETE revokes it),
 *   `devices` (the devices it reads), and Sluice's `export` / `import`;
 * - `/dashboard/:id/widget`: list (Sluice's), create, info, edit, delete;
 * - `/data/:dashboard/:widget`: the widget's data (GET, POST; PUT `.../data`; DELETE by ids).
 */
export function dashboardRoutes(deps: DashboardRouteDeps): FastifyPluginAsync {
  const { dashboards, widgetData, identity } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.dashboards.name });

    app.get<{ Querystring: ListQuery }>(
      "/dashboard",
      { schema: { querystring: listQuerySchema(["label", "name", "type", "visible", "created_at", "updated_at"]) } },
      async (request) => {
        const items = (await dashboards.list(accountOf(request))).map((d) => dashboardInfo(d) as DashboardJson & Record<string, unknown>);
        return ok(applyListQuery(items, request.query, { defaultOrder: "label,asc", alwaysFields: ["id", "label"] }));
      },
    );

    app.post("/dashboard", async (request) => ok({ dashboard: (await dashboards.create(accountOf(request), request.body)).id }));

    // A file holds up to maxWidgetsPerDashboard widgets of maxWidgetBytes each, more than the
    // server's default body limit; the plan's maxPayloadBytes still applies.
    const { maxWidgetsPerDashboard, maxWidgetBytes, maxDashboardBytes } = dashboards.bounds;
    const importLimit = Math.min(64 * 1024 * 1024, maxWidgetsPerDashboard * (maxWidgetBytes + 64) + maxDashboardBytes + 64 * 1024);
    app.post("/dashboard/import", { bodyLimit: importLimit }, async (request) => {
      const d = await dashboards.importDashboard(accountOf(request), request.body);
      return ok({ dashboard: d.id, widgets: (await dashboards.widgets(d.accountId, d.id)).length });
    });

    app.get<DashboardParams>("/dashboard/:id", { schema: { params: dashboardParams } }, async (request) => {
      const d = await dashboards.get(accountOf(request), request.params.id);
      return ok(dashboardInfo(d, await dashboards.shareInfo(d.id)));
    });

    app.put<DashboardParams>("/dashboard/:id", { schema: { params: dashboardParams } }, async (request) => {
      await dashboards.edit(accountOf(request), request.params.id, request.body);
      return ok("Successfully Updated");
    });

    app.delete<DashboardParams>("/dashboard/:id", { schema: { params: dashboardParams } }, async (request) => {
      await dashboards.delete(accountOf(request), request.params.id);
      return ok("Successfully Removed");
    });

    app.post<DashboardParams>("/dashboard/:id/duplicate", { schema: { params: dashboardParams } }, async (request) => {
      const copy = await dashboards.duplicate(accountOf(request), request.params.id, request.body);
      return ok({ dashboard_id: copy.id, message: "Dashboard Successfully Duplicated" });
    });

    app.get<DashboardParams>("/dashboard/:id/export", { schema: { params: dashboardParams } }, async (request) => {
      const accountId = accountOf(request);
      const names = new Map<string, string>();
      for (const origin of await dashboards.deviceOrigins(accountId, request.params.id)) {
        const row = await identity.getDevice(accountId, origin).catch((err: unknown) => {
          if (err instanceof SluiceError && err.httpStatus === 404) return undefined;
          throw err;
        });
        if (row) names.set(row.id, row.name);
      }
      return ok(await dashboards.export(accountId, request.params.id, names));
    });

    app.get<DashboardParams & { Querystring: { expire_time?: unknown } }>("/dashboard/:id/share/public", { schema: { params: dashboardParams } }, async (request) => {
      requireCsrfForSessionGet(request);
      return ok(await dashboards.share(accountOf(request), request.params.id, request.query.expire_time));
    });

    app.delete<DashboardParams>("/dashboard/:id/share/public", { schema: { params: dashboardParams } }, async (request) => {
      await dashboards.unshare(accountOf(request), request.params.id);
      return ok("Public link revoked");
    });

    app.get<DashboardParams>("/dashboard/:id/devices", { schema: { params: dashboardParams } }, async (request) => {
      const accountId = accountOf(request);
      const d = await dashboards.get(accountId, request.params.id);
      const related = await widgetData.related(accountId, d, await dashboards.widgets(accountId, d.id));
      return ok(related.map(({ row, ...device }): DashboardDeviceJson => ({ ...device, bucket: device.id, ...(row && { tags: row.tags }) })));
    });

    // ---- widgets --------------------------------------------------------------------------------

    app.get<DashboardParams>("/dashboard/:id/widget", { schema: { params: dashboardParams } }, async (request) =>
      ok((await dashboards.widgets(accountOf(request), request.params.id)).map(widgetInfo)),
    );

    // The SDK posts to `/dashboard/:id/widget/` (trailing slash); the router tells the two apart.
    for (const url of ["/dashboard/:id/widget", "/dashboard/:id/widget/"]) {
      app.post<DashboardParams>(url, { schema: { params: dashboardParams } }, async (request) => ok({ widget: (await dashboards.createWidget(accountOf(request), request.params.id, request.body)).id }));
    }

    app.get<WidgetParams>("/dashboard/:id/widget/:widget", { schema: { params: widgetParams } }, async (request) =>
      ok(widgetInfo(await dashboards.widget(accountOf(request), request.params.id, request.params.widget))),
    );

    app.put<WidgetParams>("/dashboard/:id/widget/:widget", { schema: { params: widgetParams } }, async (request) => {
      await dashboards.editWidget(accountOf(request), request.params.id, request.params.widget, request.body);
      return ok("Successfully Updated");
    });

    app.delete<WidgetParams>("/dashboard/:id/widget/:widget", { schema: { params: widgetParams } }, async (request) => {
      await dashboards.deleteWidget(accountOf(request), request.params.id, request.params.widget);
      return ok("Successfully Removed");
    });
  };
}

/** `/data/:dashboard/:widget`: a widget's data through an account token (ACCOUNT slot). */
export function widgetDataRoutes(deps: DashboardRouteDeps): FastifyPluginAsync {
  const { dashboards, widgetData } = deps;
  const load = async (accountId: string, params: DataParams["Params"]) => {
    const dashboard = await dashboards.get(accountId, params.dashboard);
    return { dashboard, widget: await dashboards.widget(accountId, dashboard.id, params.widget) };
  };
  return async (app) => {
    documentRoutes(app, { tag: TAGS.widgetData.name });

    app.get<DataParams>("/data/:dashboard/:widget", { schema: { params: dataParams } }, async (request, reply) => {
      const accountId = accountOf(request);
      const { dashboard, widget } = await load(accountId, request.params);
      const { json, truncated } = await widgetData.get(accountId, dashboard, widget, request.query as Record<string, unknown>);
      if (truncated) void reply.header(TRUNCATED_HEADER, "bytes");
      return ok(json);
    });

    app.post<DataParams & { Querystring: { bypass_bucket?: unknown } }>("/data/:dashboard/:widget", { bodyLimit: DATA_BODY_LIMIT, schema: { params: dataParams } }, async (request) => {
      const accountId = accountOf(request);
      const { dashboard, widget } = await load(accountId, request.params);
      return ok(await widgetData.send(accountId, dashboard, widget, request.body, request.query.bypass_bucket));
    });

    app.put<DataParams>("/data/:dashboard/:widget/data", { bodyLimit: DATA_BODY_LIMIT, schema: { params: dataParams } }, async (request) => {
      const accountId = accountOf(request);
      const { dashboard, widget } = await load(accountId, request.params);
      return ok(await widgetData.edit(accountId, dashboard, widget, request.body));
    });

    app.delete<DataParams & { Querystring: { ids?: unknown } }>("/data/:dashboard/:widget", { schema: { params: dataParams } }, async (request) => {
      const accountId = accountOf(request);
      const { dashboard, widget } = await load(accountId, request.params);
      return ok(await widgetData.remove(accountId, dashboard, widget, request.query.ids));
    });
  };
}
