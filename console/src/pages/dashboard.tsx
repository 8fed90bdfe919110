/**
 * A dashboard (`#/dashboards/:id`): its widgets on the grid, live. The viewer's choices live in
 * the address so a view can be reloaded and passed on: `tab`, the blueprint picks
 * (`device.<slot>=<device id>`) and the dashboard-wide range (`range=` a preset, or
 * `from=`/`to=`). Edit mode (`pages/dashboard/editor.tsx`) moves, resizes, adds and
 * configures widgets and tabs.
 */
import { useEffect, useMemo, useRef } from "preact/hooks";
import type { DashboardJson, WidgetJson } from "../../../src/http/api_types.js";
import { get, seg } from "../api/client.js";
import { ErrorText } from "../components/error_text.js";
import { LiveState } from "../components/live_state.js";
import { PageHeader } from "../components/page_header.js";
import { sessionContext } from "../dashboard/context.js";
import { DashboardView } from "../dashboard/dashboard_view.js";
import { LiveFanout } from "../dashboard/live_fanout.js";
import { useApi } from "../hooks/use_api.js";
import { channel } from "../live/sse.js";
import { navigate, path, pathQuery } from "../router.js";
import type { PageProps } from "../routes.js";
import "../styles/panels.css";
import "../styles/dashboard.css";

/** The address with some query parameters changed (undefined removes one); replaces the history entry. */
export function setQuery(base: string, changes: Record<string, string | undefined>): void {
  const query = pathQuery();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === "") query.delete(k);
    else query.set(k, v);
  }
  const text = query.toString();
  navigate(`${base}${text ? `?${text}` : ""}`, { replace: true });
}

export default function DashboardPage({ params }: PageProps) {
  const id = params.id!;
  const base = `/dashboards/${id}`;
  const dash = useApi((signal) => get<DashboardJson>(`/dashboard/${seg(id)}`, undefined, signal), [id]);
  const widgets = useApi((signal) => get<WidgetJson[]>(`/dashboard/${seg(id)}/widget`, undefined, signal), [id]);

  const query = pathQuery(path.value);
  const picks: Record<string, string> = {};
  for (const [k, v] of query) if (k.startsWith("device.") && v) picks[k.slice("device.".length)] = v;
  const picksKey = JSON.stringify(picks);

  const fanout = useMemo(() => new LiveFanout(id), [id]);
  useEffect(() => channel(`dashboard.${id}`, (payload) => fanout.deliver(payload)), [id, fanout]);

  const widgetsRef = useRef<WidgetJson[]>([]);
  widgetsRef.current = widgets.data ?? [];
  const ctx = useMemo(
    () =>
      sessionContext({
        dashboardId: id,
        fanout,
        blueprintPicks: picks,
        range: undefined,
        onReady: () => {},
        widget: (w) => widgetsRef.current.find((x) => x.id === w),
      }),
    [id, fanout, picksKey],
  );

  const d = dash.data;
  return (
    <section class="dashboard-page">
      <PageHeader title={d?.label ?? "Dashboard"}>
        <LiveState />
        <a class="btn" href="#/dashboards">
          All dashboards
        </a>
      </PageHeader>
      <ErrorText error={dash.error ?? widgets.error} />
      {!d || !widgets.data ? (
        !(dash.error ?? widgets.error) && <p class="muted" aria-busy="true">Loading…</p>
      ) : (
        <DashboardView dashboard={d} widgets={widgets.data} ctx={ctx} tab={query.get("tab") ?? undefined} onTab={(tab) => setQuery(base, { tab })} />
      )}
    </section>
  );
}
