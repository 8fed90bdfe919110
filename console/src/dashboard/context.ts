/**
 * The two WidgetContexts: a signed-in session's (`/data/:dashboard/:widget`, writes allowed) and
 * a public link's (`/share/:key/...`, read only). Both add the viewer's choices to every data
 * request: blueprint picks as `blueprint_devices[i][origin|id]` and the dashboard-wide range as
 * `start_date`/`end_date`, which win over the widget's own.
 */
import type { DataRecordInputJson, WidgetDataJson, WidgetJson, WidgetPublishJson, WidgetSourceResultJson } from "../../../src/http/api_types.js";
import { ApiError, get, getAnonymous, post, seg, type QueryValue } from "../api/client.js";
import type { TimeRange, WidgetContext } from "../widgets/types.js";
import type { LiveFanout } from "./live_fanout.js";

export interface ViewChoices {
  blueprintPicks: Record<string, string>;
  range: TimeRange | undefined;
}

/** The renderer's query with the viewer's picks and range. */
export function viewQuery(query: Record<string, unknown>, choices: ViewChoices): Record<string, QueryValue> {
  const out = { ...(query as Record<string, QueryValue>) };
  const picks = Object.entries(choices.blueprintPicks);
  if (picks.length > 0) out.blueprint_devices = picks.map(([origin, id]) => ({ origin, id }));
  if (choices.range) {
    out.start_date = choices.range.start.toISOString();
    if (choices.range.end === "now") delete out.end_date;
    else out.end_date = choices.range.end.toISOString();
  }
  return out;
}

interface Common extends ViewChoices {
  dashboardId: string;
  deviceNames: WidgetContext["deviceNames"];
  fanout: LiveFanout;
  onReady(widgetId: string): void;
}

function base(c: Common): Pick<WidgetContext, "dashboardId" | "deviceNames" | "blueprintPicks" | "range" | "onLive" | "onResync" | "ready"> {
  return {
    dashboardId: c.dashboardId,
    deviceNames: c.deviceNames,
    blueprintPicks: c.blueprintPicks,
    range: c.range,
    onLive: (widgetId, listener) => c.fanout.onLive(widgetId, listener),
    onResync: (listener) => c.fanout.onResync(listener),
    ready: (widgetId) => c.onReady(widgetId),
  };
}

/** A signed-in viewer's: reads and writes through the account's API with the session cookie. */
export function sessionContext(c: Common & { widget(id: string): WidgetJson | undefined }): WidgetContext {
  const dash = seg(c.dashboardId);
  return {
    ...base(c),
    readOnly: false,
    async loadData(widgetId, query, signal) {
      const answer = await get<WidgetDataJson>(`/data/${dash}/${seg(widgetId)}`, viewQuery(query, c), signal);
      return answer.result;
    },
    async sendData(widgetId, records) {
      await post<string[]>(`/data/${dash}/${seg(widgetId)}`, records satisfies (DataRecordInputJson & { origin: string })[]);
    },
    async publish(widgetId, value) {
      const body: WidgetPublishJson = { value };
      // On a blueprint the widget's source names a slot: the device is the one picked for it.
      const origin = c.widget(widgetId)?.data[0]?.origin;
      if (origin !== undefined && c.blueprintPicks[origin]) body.device = c.blueprintPicks[origin];
      await post<unknown>(`/dashboard/${dash}/widget/${seg(widgetId)}/publish`, body);
    },
  };
}

/** A public link's: the key is the only credential; nothing can be written. */
export function shareContext(c: Common & { shareKey: string }): WidgetContext {
  const key = seg(c.shareKey);
  const refuse = () => Promise.reject(new ApiError(403, "This dashboard is shared read only"));
  return {
    ...base(c),
    readOnly: true,
    async loadData(widgetId, query, signal): Promise<WidgetSourceResultJson[]> {
      const answer = await getAnonymous<WidgetDataJson>(`/share/${key}/data/${seg(widgetId)}`, viewQuery(query, c), signal);
      return answer.result;
    },
    sendData: refuse,
    publish: refuse,
  };
}
