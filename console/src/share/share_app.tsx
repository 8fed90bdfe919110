/**
 * What a public link shows: the dashboard (`GET /share/:key/dashboard`), its widgets read
 * through the link (`/share/:key/data/:widget`), live through the link's own stream
 * (`/share/:key/events`), a blueprint's device selector (`/share/:key/devices`) and the range
 * picker; nothing can be changed. When every widget of the tab shown has drawn, the page sets
 * `data-ready="1"` on <html>: a report printing this page waits for it.
 */
import { signal } from "@preact/signals";
import { useEffect, useMemo, useState } from "preact/hooks";
import type { DashboardDeviceJson, SharedDashboardJson } from "../../../src/http/api_types.js";
import { ApiError, getAnonymous, seg } from "../api/client.js";
import { ErrorText } from "../components/error_text.js";
import { BlueprintSelector } from "../dashboard/blueprint_selector.js";
import { shareContext } from "../dashboard/context.js";
import { DashboardView } from "../dashboard/dashboard_view.js";
import { LiveFanout } from "../dashboard/live_fanout.js";
import { rangeOf, RangePicker, type RangeChoice } from "../dashboard/range_picker.js";
import { useApi } from "../hooks/use_api.js";
import { stream } from "../live/sse.js";
import "../styles/dashboard.css";
import "../styles/share.css";

/** A public link's key as the server makes them (32 random bytes, base64url): anything else is refused before any request. */
const SHARE_KEY = /^[A-Za-z0-9_-]{43}$/;

export function ShareApp({ shareKey }: { shareKey: string }) {
  const valid = SHARE_KEY.test(shareKey);
  const key = valid ? seg(shareKey) : "";
  const shared = useApi(
    (signal) => (valid ? getAnonymous<SharedDashboardJson>(`/share/${key}/dashboard`, undefined, signal) : Promise.reject(new Error(shareKey ? "This link is incomplete: what follows # is not a public link's key" : "This link is incomplete: it has no key after #"))),
    [key, valid],
  );
  const dashboard = shared.data?.dashboard;
  const isBlueprint = dashboard?.type === "blueprint";
  // The devices the widgets read (their names label charts) and, on a blueprint, those fitting its slots.
  const devices = useApi((signal) => (dashboard ? getAnonymous<DashboardDeviceJson[]>(`/share/${key}/devices`, undefined, signal) : Promise.resolve([])), [key, dashboard?.id]);
  const deviceNames = useMemo(() => signal<ReadonlyMap<string, string>>(new Map()), [key]);
  useEffect(() => {
    if (devices.data) deviceNames.value = new Map(devices.data.map((d) => [d.id, d.name]));
  }, [devices.data, deviceNames]);
  const [picks, setPicks] = useState<Record<string, string>>({});
  const [choice, setChoice] = useState<RangeChoice>({});
  const [tab, setTab] = useState<string | undefined>(undefined);
  const id = dashboard?.id ?? "";

  const fanout = useMemo(() => new LiveFanout(id), [id]);
  useEffect(() => {
    if (!id) return undefined;
    return stream(`/share/${key}/events`, (message) => fanout.deliver((message as { payload?: unknown })?.payload));
  }, [key, id, fanout]);

  const picksKey = JSON.stringify(picks);
  const choiceKey = JSON.stringify(choice);
  const ctx = useMemo(() => shareContext({ dashboardId: id, deviceNames, shareKey: valid ? shareKey : "", fanout, blueprintPicks: picks, range: rangeOf(choice), onReady: () => {} }), [id, deviceNames, shareKey, fanout, picksKey, choiceKey]);

  useEffect(() => {
    if (dashboard) document.title = dashboard.label;
  }, [dashboard?.label]);
  // A page that cannot show the dashboard is as ready as it will get: a report prints the message.
  useEffect(() => {
    if (shared.error) document.documentElement.dataset.ready = "1";
  }, [shared.error]);

  const error = shared.error instanceof ApiError && shared.error.status === 401 ? new Error("This public link is unknown, revoked or expired.") : shared.error;
  return (
    <main class="share-view">
      {!dashboard ? (
        error ? <ErrorText error={error} /> : <p class="muted" aria-busy="true">Loading…</p>
      ) : (
        <>
          <header class="share-head">
            <h1>{dashboard.label}</h1>
            <div class="dash-toolbar">
              {isBlueprint && <BlueprintSelector slots={dashboard.blueprint_devices} devices={devices.data ?? []} picks={picks} onPick={(slot, device) => setPicks((p) => { const next = { ...p }; if (device) next[slot] = device; else delete next[slot]; return next; })} />}
              <RangePicker choice={choice} onChange={setChoice} />
            </div>
          </header>
          <ErrorText error={devices.error} />
          <DashboardView dashboard={dashboard} widgets={shared.data!.widgets} ctx={ctx} tab={tab} onTab={setTab} onAllReady={() => (document.documentElement.dataset.ready = "1")} />
        </>
      )}
    </main>
  );
}
