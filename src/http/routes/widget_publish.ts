import type { FastifyPluginAsync } from "fastify";
import { downlinkPacket, publishValue, readDownlink, type DownlinkPacket } from "../../dashboards/downlink.js";
import type { DashboardService } from "../../dashboards/service.js";
import type { WidgetData } from "../../dashboards/widget_data.js";
import { invalid } from "../../errors.js";
import { accountOf } from "../auth.js";
import type { WidgetPublishJson, WidgetPublishResultJson } from "../api_types.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";

export interface WidgetPublishRouteDeps {
  dashboards: DashboardService;
  widgetData: WidgetData;
  /** The broker's publish for Sluice's own messages, counted against the plan (server.ts). */
  publish(accountId: string, packet: DownlinkPacket, deviceId: string): void;
}

const params = {
  type: "object",
  required: ["id", "widget"],
  properties: { id: { type: "string", minLength: 1, maxLength: 64 }, widget: { type: "string", minLength: 1, maxLength: 64 } },
} as const;

// No `type` on `value`: the validator would coerce (null to "", "1" to 1); publishValue checks it as sent.
const body = {
  type: "object",
  required: ["value"],
  properties: {
    value: { description: "A string (at most 1 024 bytes), a number or a boolean: replaces {{value}} in the downlink's topic and payload." },
    device: { type: "string", minLength: 1, maxLength: 64, description: "On a blueprint dashboard: the device picked for the widget's slot (the account's, fitting the slot)." },
  },
} as const;

/**
 * `POST /dashboard/:id/widget/:widget/publish`: a control widget (push button, switch, slider)
 * publishes its MQTT downlink (`display.downlink`) to the device it reads, with the value the
 * viewer chose (docs/dashboards.md, "Controls"). Account slot only: a public link's key is no
 * token here.
 */
export function widgetPublishRoutes(deps: WidgetPublishRouteDeps): FastifyPluginAsync {
  return async (app) => {
    documentRoutes(app, { tag: TAGS.dashboards.name });
    app.post<{ Params: { id: string; widget: string }; Body: Partial<WidgetPublishJson> | undefined }>(
      "/dashboard/:id/widget/:widget/publish",
      { bodyLimit: 8 * 1024, schema: { params, body } },
      async (request) => {
        const accountId = accountOf(request);
        const dashboard = await deps.dashboards.get(accountId, request.params.id);
        const widget = await deps.dashboards.widget(accountId, dashboard.id, request.params.widget);
        const value = publishValue(request.body?.value);
        const pick = request.body?.device;
        if (pick !== undefined && typeof pick !== "string") throw invalid("device must be a device id");
        const downlink = readDownlink(widget.display);
        const device = await deps.widgetData.controlTarget(accountId, dashboard, widget, pick);
        const packet = downlinkPacket(downlink, value, device.id);
        deps.publish(accountId, packet, device.id);
        const answer: WidgetPublishResultJson = { topic: packet.topic, bytes: packet.payload.length, device: device.id };
        return ok(answer);
      },
    );
  };
}
