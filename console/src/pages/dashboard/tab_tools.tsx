/**
 * Edit mode's tab tools, for the tab shown: add a tab, rename it, hide it from viewers, delete
 * it (its widgets move to the first remaining tab, below what is there: nothing is lost).
 */
import { useEffect, useState } from "preact/hooks";
import type { ArrangementJson, DashboardJson, TabJson } from "../../../../src/http/api_types.js";
import { ConfirmButton } from "../../components/confirm_button.js";
import { bottomOf, tabOf } from "../../dashboard/grid.js";

const newKey = () => `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

export function TabTools({ dashboard, tab, onChange, onTab }: { dashboard: DashboardJson; tab: string; onChange(changes: { tabs: TabJson[]; arrangement: ArrangementJson[] }): void; onTab(key: string): void }) {
  const current = dashboard.tabs.find((t) => t.key === tab);
  const [name, setName] = useState(current?.value ?? "");
  useEffect(() => setName(current?.value ?? ""), [tab, current?.value]);

  const add = () => {
    const key = newKey();
    let tabs = dashboard.tabs;
    let arrangement = dashboard.arrangement;
    if (tabs.length === 0) {
      // The first tab is made for the widgets already there: they had the dashboard's one unnamed tab.
      const first = newKey() + "a";
      tabs = [{ key: first, value: "Overview" }];
      arrangement = arrangement.map((a) => ({ ...a, tab: first }));
    }
    onChange({ tabs: [...tabs, { key, value: `Tab ${tabs.length + 1}` }], arrangement });
    onTab(key);
  };
  const rename = (event: Event) => {
    event.preventDefault();
    if (!current || name.trim() === "") return;
    onChange({ tabs: dashboard.tabs.map((t) => (t.key === tab ? { ...t, value: name.trim() } : t)), arrangement: dashboard.arrangement });
  };
  const toggleHidden = () => {
    if (!current) return;
    onChange({ tabs: dashboard.tabs.map((t) => (t.key === tab ? { ...t, hidden: !t.hidden } : t)), arrangement: dashboard.arrangement });
  };
  const remove = () => {
    const rest = dashboard.tabs.filter((t) => t.key !== tab);
    const target = rest[0]?.key;
    const staying = dashboard.arrangement.filter((a) => tabOf(a, dashboard) !== tab);
    let y = bottomOf(staying.filter((a) => tabOf(a, dashboard) === target));
    const moved = dashboard.arrangement
      .filter((a) => tabOf(a, dashboard) === tab)
      .map((a) => {
        const place = { ...a, tab: target ?? null, y };
        y += a.height;
        return place;
      });
    onChange({ tabs: rest, arrangement: [...staying, ...moved] });
    if (target) onTab(target);
  };

  return (
    <div class="tab-tools">
      {current && (
        <form class="inline-form" aria-label="Rename tab" onSubmit={rename}>
          <input aria-label="Tab name" maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} size={14} />
          <button type="submit" class="btn small" disabled={name.trim() === "" || name.trim() === current.value}>
            Rename tab
          </button>
        </form>
      )}
      {current && (
        <button type="button" class="btn small" aria-pressed={current.hidden === true} onClick={toggleHidden}>
          {current.hidden ? "Show tab to viewers" : "Hide tab from viewers"}
        </button>
      )}
      {current && dashboard.tabs.length > 1 && (
        <ConfirmButton class="btn small danger" title={`Delete the tab ${current.value}?`} message="Its widgets move to the first remaining tab." confirm="Delete tab" onConfirm={remove}>
          Delete tab
        </ConfirmButton>
      )}
      <button type="button" class="btn small" onClick={add}>
        Add tab
      </button>
    </div>
  );
}
