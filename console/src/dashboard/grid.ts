/**
 * The dashboard grid: 12 columns as wide as the page allows, rows of a fixed height, as
 * TagoIO's arrangement counts them (`x`, `width` in columns; `y`, `height` in rows).
 */
import type { ArrangementJson, DashboardJson } from "../../../src/http/api_types.js";

export const COLUMNS = 12;
/**
 * One grid row and the gap between cells, in CSS pixels (a widget `height` rows tall is that
 * many rows plus the gaps between them). The CSS grid (styles/dashboard.css, `--row`, `--gap`)
 * draws with the same numbers; the edit grid measures the grid itself, so they cannot drift
 * apart there.
 */
export const ROW_HEIGHT = 60;
export const GAP = 12;

/** The tabs a viewer sees; a dashboard without tabs has one unnamed tab (key ""). */
export function visibleTabs(dashboard: DashboardJson, includeHidden = false): { key: string; value: string; hidden: boolean }[] {
  const tabs = dashboard.tabs.filter((t) => includeHidden || !t.hidden).map((t) => ({ key: t.key, value: t.value, hidden: t.hidden === true }));
  return tabs.length > 0 ? tabs : [{ key: "", value: "", hidden: false }];
}

/** The tab an arrangement item belongs to: its `tab`, or the dashboard's first tab when absent. */
export function tabOf(item: ArrangementJson, dashboard: DashboardJson): string {
  if (typeof item.tab === "string" && dashboard.tabs.some((t) => t.key === item.tab)) return item.tab;
  return dashboard.tabs[0]?.key ?? "";
}

/** Items of one tab, in reading order (top to bottom, left to right). */
export function itemsOfTab(dashboard: DashboardJson, tab: string): ArrangementJson[] {
  return dashboard.arrangement.filter((a) => tabOf(a, dashboard) === tab).sort((a, b) => a.y - b.y || a.x - b.x);
}

/** A place within the grid's bounds: whole cells, at least 1×1, never past the 12th column. */
export function clampPlace<T extends { x: number; y: number; width: number; height: number }>(p: T): T {
  const width = Math.min(COLUMNS, Math.max(1, Math.round(p.width)));
  const height = Math.min(100, Math.max(1, Math.round(p.height)));
  const x = Math.min(COLUMNS - width, Math.max(0, Math.round(p.x)));
  const y = Math.min(10_000, Math.max(0, Math.round(p.y)));
  return { ...p, x, y, width, height };
}

const overlaps = (a: ArrangementJson, b: ArrangementJson) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * The tab's items after `moved` took its new place: any item it now overlaps is pushed down
 * below it, and so on for what those push (the moved item never moves). Items of other tabs
 * are left as they are.
 */
export function settle(items: ArrangementJson[], moved: ArrangementJson, sameTab: (a: ArrangementJson) => boolean): ArrangementJson[] {
  const fixed: ArrangementJson[] = [moved];
  const rest = items.filter((i) => i.widget_id !== moved.widget_id);
  const others = rest.filter((i) => !sameTab(i));
  const mine = rest.filter(sameTab).sort((a, b) => a.y - b.y || a.x - b.x);
  for (const item of mine) {
    let place = { ...item };
    // Bounded: each step moves the item below one it overlapped, so it ends past all of them.
    for (let guard = 0; guard <= fixed.length; guard++) {
      const hit = fixed.find((f) => overlaps(f, place));
      if (!hit) break;
      place = { ...place, y: hit.y + hit.height };
    }
    fixed.push(place);
  }
  return [...others, ...fixed];
}

/** The first free row of a tab (where a new widget goes). */
export function bottomOf(items: ArrangementJson[]): number {
  return items.reduce((max, i) => Math.max(max, i.y + i.height), 0);
}
