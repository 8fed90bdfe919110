/**
 * A dashboard (`#/dashboards/:id`): its widgets on the grid, live. The viewer's choices live in
 * the address so a view can be reloaded and passed on: `tab`, the blueprint picks
 * (`device.<slot>=<device id>`), the dashboard-wide range (`range=` a preset, or
 * `from=`/`to=`), and `edit=1` for edit mode, where widgets are added, configured, moved and
 * resized (`dashboard/edit_grid.tsx`), and tabs and settings changed. Every change is saved at
 * once (`PUT /dashboard/:id`, in order: a later change never lands before an earlier one).
 */
import { signal } from "@preact/signals";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { DashboardDeviceJson, DashboardJson, WidgetJson } from "../../../src/http/api_types.js";
import { del, get, put, seg } from "../api/client.js";
import { ErrorText } from "../components/error_text.js";
import { LiveState } from "../components/live_state.js";
import { PageHeader } from "../components/page_header.js";
import { BlueprintSelector } from "../dashboard/blueprint_selector.js";
import { sessionContext } from "../dashboard/context.js";
import { DashboardView, TabBar } from "../dashboard/dashboard_view.js";
import { bottomOf, itemsOfTab, visibleTabs } from "../dashboard/grid.js";
import { LiveFanout } from "../dashboard/live_fanout.js";
import { rangeOf, RangePicker, type RangeChoice } from "../dashboard/range_picker.js";
import { useApi } from "../hooks/use_api.js";
import { channel } from "../live/sse.js";
import { navigate, path, pathQuery } from "../router.js";
import type { PageProps } from "../routes.js";
import { EditGrid } from "./dashboard/edit_grid.js";
import { SettingsDialog } from "./dashboard/settings_dialog.js";
import { SharePanel } from "./dashboard/share_panel.js";
import { TabTools } from "./dashboard/tab_tools.js";
import { WidgetDialog, type WidgetDialogTarget } from "./dashboard/widget_dialog.js";
import "../styles/dialog.css";
import "../styles/panels.css";
import "../styles/dashboard.css";

/** The address with some query parameters changed (undefined removes one); replaces the history entry. */
function setQuery(base: string, changes: Record<string, string | undefined>): void {
  const query = pathQuery();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === "") query.delete(k);
    else query.set(k, v);
  }
  const text = query.toString();
  navigate(`${base}${text ? `?${text}` : ""}`, { replace: true });
}

type DashboardChanges = Partial<Pick<DashboardJson, "label" | "tags" | "type" | "blueprint_devices" | "tabs" | "arrangement">>;

export default function DashboardPage({ params }: PageProps) {
  const id = params.id!;
  const base = `/dashboards/${id}`;
  const loaded = useApi((signal) => get<DashboardJson>(`/dashboard/${seg(id)}`, undefined, signal), [id]);
  const widgets = useApi((signal) => get<WidgetJson[]>(`/dashboard/${seg(id)}/widget`, undefined, signal), [id]);
  const [dashboard, setDashboard] = useState<DashboardJson | undefined>(undefined);
  useEffect(() => setDashboard(loaded.data), [loaded.data]);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [saving, setSaving] = useState(false);
  const [dialog, setDialog] = useState<WidgetDialogTarget | undefined>(undefined);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [shareOpen, setShareOpen] = useState(false);
  const [deleting, setDeleting] = useState<WidgetJson | undefined>(undefined);

  const query = pathQuery(path.value);
  const editing = query.get("edit") === "1";
  const picks: Record<string, string> = {};
  for (const [k, v] of query) if (k.startsWith("device.") && v) picks[k.slice("device.".length)] = v;
  const picksKey = JSON.stringify(picks);
  const choice: RangeChoice = { range: query.get("range") ?? undefined, from: query.get("from") ?? undefined, to: query.get("to") ?? undefined };
  const choiceKey = JSON.stringify(choice);

  const isBlueprint = dashboard?.type === "blueprint";
  // The devices the widgets read (their names label charts) and, on a blueprint, those fitting its slots.
  const related = useApi((signal) => get<DashboardDeviceJson[]>(`/dashboard/${seg(id)}/devices`, undefined, signal), [id, dashboard?.blueprint_devices, widgets.data]);
  const deviceNames = useMemo(() => signal<ReadonlyMap<string, string>>(new Map()), [id]);
  useEffect(() => {
    if (related.data) deviceNames.value = new Map(related.data.map((d) => [d.id, d.name]));
  }, [related.data, deviceNames]);

  const fanout = useMemo(() => new LiveFanout(id), [id]);
  useEffect(() => channel(`dashboard.${id}`, (payload) => fanout.deliver(payload)), [id, fanout]);

  const widgetsRef = useRef<WidgetJson[]>([]);
  widgetsRef.current = widgets.data ?? [];
  const ctx = useMemo(
    () =>
      sessionContext({
        dashboardId: id,
        deviceNames,
        fanout,
        blueprintPicks: picks,
        range: rangeOf(choice),
        onReady: () => {},
        widget: (w) => widgetsRef.current.find((x) => x.id === w),
      }),
    [id, deviceNames, fanout, picksKey, choiceKey],
  );

  // Saves go one at a time, each with everything changed since the last: the server always
  // ends with the latest state, whatever order the answers would have come in.
  const pending = useRef<DashboardChanges | undefined>(undefined);
  const inFlight = useRef(false);
  const flush = async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setSaving(true);
    try {
      while (pending.current) {
        const changes = pending.current;
        pending.current = undefined;
        try {
          await put(`/dashboard/${seg(id)}`, changes);
          setSaveError(undefined);
        } catch (err) {
          setSaveError(err);
          pending.current = undefined;
          loaded.reload(); // show what the server kept
        }
      }
    } finally {
      inFlight.current = false;
      setSaving(false);
    }
  };
  const save = (changes: DashboardChanges) => {
    setDashboard((d) => (d ? { ...d, ...changes } : d));
    pending.current = { ...pending.current, ...changes };
    void flush();
  };

  const d = dashboard;
  const tabs = d ? visibleTabs(d, editing) : [];
  const tab = tabs.find((t) => t.key === query.get("tab"))?.key ?? tabs[0]?.key ?? "";
  const onTab = (key: string) => setQuery(base, { tab: key });

  const placeNew = (widgetId: string, size: { width: number; height: number }) => {
    if (!d) return;
    const y = bottomOf(itemsOfTab(d, tab));
    save({ arrangement: [...d.arrangement, { widget_id: widgetId, x: 0, y, width: size.width, height: size.height, ...(tab ? { tab } : {}) }] });
  };
  const unplaced = d && widgets.data ? widgets.data.filter((w) => !d.arrangement.some((a) => a.widget_id === w.id)) : [];

  const deleteWidget = async (widget: WidgetJson) => {
    setDeleting(undefined);
    try {
      await del(`/dashboard/${seg(id)}/widget/${seg(widget.id)}`);
      setDashboard((x) => (x ? { ...x, arrangement: x.arrangement.filter((a) => a.widget_id !== widget.id) } : x));
      widgets.reload();
    } catch (err) {
      setSaveError(err);
    }
  };

  return (
    <section class="dashboard-page">
      <PageHeader title={d?.label ?? "Dashboard"}>
        <LiveState />
        {editing && (
          <span class="muted small" role="status">
            {saving ? "Saving…" : saveError ? "" : "All changes saved"}
          </span>
        )}
        {d && !editing && (
          <button type="button" class="btn" aria-expanded={shareOpen} onClick={() => setShareOpen(!shareOpen)}>
            Share
          </button>
        )}
        {d && (
          <button type="button" class={editing ? "btn primary" : "btn"} onClick={() => setQuery(base, { edit: editing ? undefined : "1" })}>
            {editing ? "Done editing" : "Edit"}
          </button>
        )}
        <a class="btn" href="#/dashboards">
          All dashboards
        </a>
      </PageHeader>
      <ErrorText error={loaded.error ?? widgets.error ?? saveError} />
      {!d || !widgets.data ? (
        !(loaded.error ?? widgets.error) && <p class="muted" aria-busy="true">Loading…</p>
      ) : (
        <>
          {shareOpen && !editing && <SharePanel dashboardId={id} share={d.public_share} onChanged={loaded.reload} />}
          <div class="dash-toolbar">
            {isBlueprint && <BlueprintSelector slots={d.blueprint_devices} devices={related.data ?? []} picks={picks} onPick={(slot, device) => setQuery(base, { [`device.${slot}`]: device })} />}
            <RangePicker choice={choice} onChange={(c) => setQuery(base, { range: c.range, from: c.from, to: c.to })} />
            {editing && (
              <>
                <button type="button" class="btn primary" onClick={() => setDialog({ kind: "new" })}>
                  Add widget
                </button>
                <button type="button" class="btn" onClick={() => setSettingsOpen(true)}>
                  Dashboard settings
                </button>
              </>
            )}
          </div>
          <ErrorText error={related.error} />
          {editing ? (
            <div class="dashboard-view">
              <TabBar tabs={tabs} current={tab} onTab={onTab}>
                <TabTools dashboard={d} tab={tab} onTab={onTab} onChange={(changes) => save(changes)} />
              </TabBar>
              <EditGrid dashboard={d} tabbed={tabs.length > 1} widgets={widgets.data} tab={tab} ctx={ctx} onChange={(arrangement) => save({ arrangement })} onEdit={(widget) => setDialog({ kind: "edit", widget })} onDelete={setDeleting} />
              {unplaced.length > 0 && (
                <div class="card">
                  <h2>Widgets not on the grid</h2>
                  <ul>
                    {unplaced.map((w) => (
                      <li key={w.id}>
                        {w.label || "Untitled"} <span class="muted">({w.type})</span>{" "}
                        <button type="button" class="btn small" onClick={() => placeNew(w.id, { width: 4, height: 3 })}>
                          Place on this tab
                        </button>
                      </li>
                    ))}
                  </ul>
                </div>
              )}
            </div>
          ) : (
            <DashboardView dashboard={d} widgets={widgets.data} ctx={ctx} tab={tab} onTab={onTab} />
          )}
          {dialog && (
            <WidgetDialog
              key={dialog.kind === "edit" ? dialog.widget.id : "new"}
              dashboard={d}
              target={dialog}
              onClose={() => setDialog(undefined)}
              onSaved={(widgetId, created) => {
                setDialog(undefined);
                if (created) placeNew(widgetId, created.size);
                widgets.reload();
              }}
            />
          )}
          {settingsOpen && (
            <SettingsDialog
              dashboard={d}
              onClose={() => setSettingsOpen(false)}
              onSave={async (settings) => {
                await put(`/dashboard/${seg(id)}`, settings);
                setDashboard((x) => (x ? { ...x, ...settings } : x));
              }}
            />
          )}
          {deleting && <DeleteWidgetDialog widget={deleting} onCancel={() => setDeleting(undefined)} onConfirm={() => void deleteWidget(deleting)} />}
        </>
      )}
    </section>
  );
}

function DeleteWidgetDialog({ widget, onCancel, onConfirm }: { widget: WidgetJson; onCancel(): void; onConfirm(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const el = ref.current!;
    el.showModal();
    return () => el.close();
  }, []);
  return (
    <dialog ref={ref} class="confirm-dialog" aria-labelledby="delete-widget-title" onClose={onCancel}>
      <h2 id="delete-widget-title">Delete the widget {widget.label || "Untitled"}?</h2>
      <p class="confirm-message">The devices' data stays; only the widget goes.</p>
      <div class="confirm-buttons">
        <button type="button" class="btn" autoFocus onClick={() => ref.current?.close()}>
          Cancel
        </button>
        <button type="button" class="btn danger" onClick={onConfirm}>
          Delete widget
        </button>
      </div>
    </dialog>
  );
}
