/**
 * A dashboard as a viewer sees it: its tabs and, for the tab shown, each widget at its place on
 * the 12-column grid. Used by the console's dashboard page and by the public share view, each
 * with its own WidgetContext. `onAllReady` fires once every widget of the tab shown has drawn
 * its first data (reports print then).
 */
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ArrangementJson, DashboardJson, WidgetJson } from "../../../src/http/api_types.js";
import type { WidgetContext } from "../widgets/types.js";
import { itemsOfTab, visibleTabs } from "./grid.js";
import { WidgetBody } from "./widget_frame.js";
import "../styles/dashboard.css";

export interface DashboardViewProps {
  dashboard: DashboardJson;
  widgets: WidgetJson[];
  ctx: WidgetContext;
  /** The tab shown (a tab's key); unknown or absent: the first visible one. */
  tab: string | undefined;
  onTab(key: string): void;
  onAllReady?(): void;
}

export function DashboardView(props: DashboardViewProps) {
  const { dashboard, widgets } = props;
  const tabs = visibleTabs(dashboard);
  const tab = tabs.find((t) => t.key === props.tab)?.key ?? tabs[0]!.key;
  const byId = useMemo(() => new Map(widgets.map((w) => [w.id, w])), [widgets]);
  const items = itemsOfTab(dashboard, tab).filter((i) => byId.has(i.widget_id));
  const ctx = useReadyTracking(props.ctx, items, props.onAllReady);

  return (
    <div class="dashboard-view">
      <TabBar tabs={tabs} current={tab} onTab={props.onTab} />
      <div class="dash-grid" role={tabs.length > 1 ? "tabpanel" : undefined} id="dash-tabpanel" aria-labelledby={tabs.length > 1 ? `dash-tab-${tab}` : undefined}>
        {items.length === 0 && <p class="muted dash-empty">No widget on this {tabs.length > 1 ? "tab" : "dashboard"} yet.</p>}
        {items.map((item) => (
          <WidgetCell key={item.widget_id} item={item} widget={byId.get(item.widget_id)!}>
            <WidgetBody widget={byId.get(item.widget_id)!} ctx={ctx} />
          </WidgetCell>
        ))}
      </div>
    </div>
  );
}

/** A widget's box at its grid place, with its title. */
export function WidgetCell({ item, widget, children, chrome, class: extra, ...rest }: { item: ArrangementJson; widget: WidgetJson | undefined; children: ComponentChildren; chrome?: ComponentChildren; class?: string } & Record<string, unknown>) {
  const style = { "--x": item.x + 1, "--y": item.y + 1, "--w": item.width, "--h": item.height } as Record<string, number>;
  const title = widget?.label || "Untitled widget";
  return (
    <section class={`widget${extra ? ` ${extra}` : ""}`} style={style} aria-label={title} {...rest}>
      <header class="widget-head">
        <h2 class="widget-title" title={title}>
          {title}
        </h2>
        {chrome}
      </header>
      {children}
    </section>
  );
}

export function TabBar({ tabs, current, onTab, children }: { tabs: { key: string; value: string; hidden?: boolean }[]; current: string; onTab(key: string): void; children?: ComponentChildren }) {
  const list = useRef<HTMLDivElement>(null);
  if (tabs.length <= 1 && !children) return null;
  // Arrow keys move between tabs (the ARIA tabs pattern); Tab leaves the list.
  const onKeyDown = (event: KeyboardEvent) => {
    const i = tabs.findIndex((t) => t.key === current);
    const next = event.key === "ArrowRight" ? i + 1 : event.key === "ArrowLeft" ? i - 1 : event.key === "Home" ? 0 : event.key === "End" ? tabs.length - 1 : undefined;
    if (next === undefined) return;
    event.preventDefault();
    const target = tabs[(next + tabs.length) % tabs.length]!;
    onTab(target.key);
    queueMicrotask(() => list.current?.querySelector<HTMLElement>(`[data-key="${CSS.escape(target.key)}"]`)?.focus());
  };
  return (
    <div class="dash-tabs">
      {tabs.length > 1 && (
        <div role="tablist" aria-label="Dashboard tabs" ref={list} onKeyDown={onKeyDown}>
          {tabs.map((t) => (
            <button
              key={t.key}
              type="button"
              role="tab"
              id={`dash-tab-${t.key}`}
              data-key={t.key}
              class={`dash-tab${t.hidden ? " hidden-tab" : ""}`}
              aria-selected={t.key === current}
              aria-controls="dash-tabpanel"
              tabIndex={t.key === current ? 0 : -1}
              onClick={() => onTab(t.key)}
            >
              {t.value || "Untitled"}
              {t.hidden && <span class="muted small"> (hidden)</span>}
            </button>
          ))}
        </div>
      )}
      {children}
    </div>
  );
}

/** The context with `ready` counted: `onAllReady` once every item shown has called it. */
function useReadyTracking(ctx: WidgetContext, items: ArrangementJson[], onAllReady: (() => void) | undefined): WidgetContext {
  const [ready, setReady] = useState<ReadonlySet<string>>(new Set());
  const fired = useRef(false);
  const wrapped = useMemo<WidgetContext>(
    () => ({
      ...ctx,
      ready(widgetId) {
        ctx.ready(widgetId);
        setReady((s) => (s.has(widgetId) ? s : new Set([...s, widgetId])));
      },
    }),
    [ctx],
  );
  useEffect(() => {
    if (fired.current || !onAllReady) return;
    if (items.every((i) => ready.has(i.widget_id))) {
      fired.current = true;
      onAllReady();
    }
  });
  return wrapped;
}
