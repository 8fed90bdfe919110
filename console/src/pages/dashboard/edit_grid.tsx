/**
 * The grid in edit mode: each widget is dragged (anywhere on it) and resized by its corner
 * (pointer events, snapped to whole cells), or, focused, moved with the arrow keys and resized
 * with Shift+arrows. Whatever a widget lands on is pushed down below it (`settle`). Each
 * finished move calls `onChange` with the whole arrangement.
 *
 * Why not gridstack: it owns the DOM of its items (it moves nodes, writes their attributes and
 * styles), which fights Preact's own rendering of the same nodes; here Preact draws everything
 * and the CSS grid does the placing, so a drag is only a state change.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ArrangementJson, DashboardJson, WidgetJson } from "../../../../src/http/api_types.js";
import { Icon } from "../../components/icon.js";
import { WidgetCell } from "../../dashboard/dashboard_view.js";
import { clampPlace, itemsOfTab, settle, tabOf } from "../../dashboard/grid.js";
import { WidgetBody } from "../../dashboard/widget_frame.js";
import type { WidgetContext } from "../../widgets/types.js";

interface Drag {
  id: string;
  mode: "move" | "resize";
  startX: number;
  startY: number;
  start: ArrangementJson;
  place: ArrangementJson;
}

export interface EditGridProps {
  dashboard: DashboardJson;
  /** The dashboard shows tabs: the grid is their tab panel. */
  tabbed: boolean;
  widgets: WidgetJson[];
  tab: string;
  ctx: WidgetContext;
  onChange(arrangement: ArrangementJson[]): void;
  onEdit(widget: WidgetJson): void;
  onDelete(widget: WidgetJson): void;
}

export function EditGrid({ dashboard, tabbed, widgets, tab, ctx, onChange, onEdit, onDelete }: EditGridProps) {
  const grid = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<Drag | undefined>(undefined);
  const [announce, setAnnounce] = useState("");
  // A widget moved with the keyboard may change places in the DOM (reading order), which
  // drops its focus: it gets it back after the render.
  const refocus = useRef<string | undefined>(undefined);
  useEffect(() => {
    const id = refocus.current;
    refocus.current = undefined;
    if (id && grid.current) grid.current.querySelector<HTMLElement>(`[data-widget="${CSS.escape(id)}"]`)?.focus();
  });
  const byId = new Map(widgets.map((w) => [w.id, w]));
  const sameTab = (a: ArrangementJson) => tabOf(a, dashboard) === tab;

  // While dragging, the others make room live, so the drop shows where everything will be.
  const shown = drag ? settle(dashboard.arrangement, drag.place, sameTab).filter(sameTab) : itemsOfTab(dashboard, tab);

  const cell = () => {
    const el = grid.current!;
    const style = getComputedStyle(el);
    const gap = parseFloat(style.columnGap) || 12;
    const row = parseFloat(style.gridAutoRows) || 60;
    return { col: (el.clientWidth + gap) / 12, row: row + gap };
  };

  const commit = (place: ArrangementJson, name: string) => {
    const next = settle(dashboard.arrangement, clampPlace(place), sameTab);
    onChange(next);
    const p = next.find((i) => i.widget_id === place.widget_id)!;
    setAnnounce(`${name}: column ${p.x + 1}, row ${p.y + 1}, ${p.width} wide, ${p.height} high`);
  };

  const onPointerDown = (event: PointerEvent, item: ArrangementJson, mode: Drag["mode"]) => {
    if (event.button !== 0) return;
    if ((event.target as HTMLElement).closest("button:not(.resize-handle)")) return;
    event.preventDefault();
    (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
    setDrag({ id: item.widget_id, mode, startX: event.clientX, startY: event.clientY, start: item, place: item });
  };
  const onPointerMove = (event: PointerEvent) => {
    if (!drag) return;
    const { col, row } = cell();
    const dx = Math.round((event.clientX - drag.startX) / col);
    const dy = Math.round((event.clientY - drag.startY) / row);
    const s = drag.start;
    const place = clampPlace(drag.mode === "move" ? { ...s, x: s.x + dx, y: s.y + dy } : { ...s, width: s.width + dx, height: s.height + dy });
    if (place.x !== drag.place.x || place.y !== drag.place.y || place.width !== drag.place.width || place.height !== drag.place.height) setDrag({ ...drag, place });
  };
  const onPointerUp = () => {
    if (!drag) return;
    const { start, place } = drag;
    setDrag(undefined);
    if (place.x !== start.x || place.y !== start.y || place.width !== start.width || place.height !== start.height) commit(place, byId.get(place.widget_id)?.label ?? "Widget");
  };

  const onKeyDown = (event: KeyboardEvent, item: ArrangementJson) => {
    if (event.target !== event.currentTarget) return;
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key] as [number, number] | undefined;
    const widget = byId.get(item.widget_id);
    if (event.key === "Enter" && widget) {
      event.preventDefault();
      onEdit(widget);
      return;
    }
    if (!step) return;
    event.preventDefault();
    const [dx, dy] = step;
    refocus.current = item.widget_id;
    const place = event.shiftKey ? { ...item, width: item.width + dx, height: item.height + dy } : { ...item, x: item.x + dx, y: item.y + dy };
    commit(place, widget?.label ?? "Widget");
  };

  return (
    <>
      <p class="hint">Drag a widget to move it, its bottom-right corner to resize it; or focus it (Tab) and use the arrow keys: Shift+arrows resize, Enter edits.</p>
      <div class="dash-grid editing" ref={grid} id="dash-tabpanel" role={tabbed ? "tabpanel" : undefined} aria-labelledby={tabbed ? `dash-tab-${tab}` : undefined} onPointerMove={onPointerMove} onPointerUp={onPointerUp} onPointerCancel={() => setDrag(undefined)}>
        {shown.length === 0 && <p class="muted dash-empty">No widget on this tab yet: add one.</p>}
        {shown.map((item) => {
          const widget = byId.get(item.widget_id);
          const label = widget?.label || "Untitled widget";
          return (
            <WidgetCell
              key={item.widget_id}
              item={item}
              widget={widget}
              class={`editable${drag?.id === item.widget_id ? " dragging" : ""}`}
              tabIndex={0}
              data-widget={item.widget_id}
              aria-roledescription="movable widget"
              aria-describedby="dash-edit-keys"
              onKeyDown={(e: KeyboardEvent) => onKeyDown(e, item)}
              chrome={
                <span class="widget-tools">
                  {widget && (
                    <button type="button" class="icon-btn" aria-label={`Edit ${label}`} title="Edit" onClick={() => onEdit(widget)}>
                      <Icon name="edit" />
                    </button>
                  )}
                  {widget && (
                    <button type="button" class="icon-btn" aria-label={`Delete ${label}`} title="Delete" onClick={() => onDelete(widget)}>
                      <Icon name="trash" />
                    </button>
                  )}
                </span>
              }
            >
              <div class="drag-layer drag-handle" onPointerDown={(e) => onPointerDown(e, item, "move")} />
              {widget ? <WidgetBody widget={widget} ctx={ctx} /> : <p class="widget-unsupported">This widget no longer exists.</p>}
              <button type="button" tabIndex={-1} aria-hidden="true" class="resize-handle" onPointerDown={(e) => onPointerDown(e, item, "resize")} />
            </WidgetCell>
          );
        })}
      </div>
      <p id="dash-edit-keys" class="visually-hidden">Arrow keys move the widget by one cell, Shift with arrow keys resizes it, Enter opens its settings.</p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
    </>
  );
}
