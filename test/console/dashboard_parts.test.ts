import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { ArrangementJson, DashboardJson } from "../../src/http/api_types.js";
import type * as Context from "../../console/src/dashboard/context.js";
import type * as Grid from "../../console/src/dashboard/grid.js";
import type * as Live from "../../console/src/dashboard/live_fanout.js";
import { loadConsoleModule } from "../helpers/console_module.js";

// The dashboard view's parts that hold rules rather than pixels: the grid's placing (pushing
// what a moved widget lands on), the live fan-out (one event to the widgets each record names;
// hostile shapes ignored; `dropped` asks for a reload), and the viewer's choices added to a
// widget's data query. The browser tests (dashboards*.test.ts) drive them through the pages.
let grid: typeof Grid;
let live: typeof Live;
let context: typeof Context;
before(async () => {
  grid = await loadConsoleModule<typeof Grid>("dashboard/grid.ts");
  live = await loadConsoleModule<typeof Live>("dashboard/live_fanout.ts");
  context = await loadConsoleModule<typeof Context>("dashboard/context.ts");
});

const item = (widget_id: string, x: number, y: number, width: number, height: number, tab?: string): ArrangementJson => ({ widget_id, x, y, width, height, ...(tab ? { tab } : {}) });
const dash = (arrangement: ArrangementJson[], tabs: DashboardJson["tabs"] = []) => ({ arrangement, tabs }) as unknown as DashboardJson;

describe("the grid", () => {
  test("a place is whole cells within 12 columns", () => {
    assert.deepEqual(grid.clampPlace(item("a", 10, -2, 5, 0)), item("a", 7, 0, 5, 1));
    assert.deepEqual(grid.clampPlace(item("a", 2.4, 3.6, 20, 2)), item("a", 0, 4, 12, 2));
  });

  test("what the moved widget lands on is pushed below it, and what that lands on, in turn; other tabs stay", () => {
    const items = [item("a", 0, 0, 4, 2, "t1"), item("b", 0, 2, 4, 2, "t1"), item("c", 0, 4, 4, 2, "t1"), item("x", 0, 0, 4, 2, "t2")];
    const d = dash(items, [{ key: "t1", value: "One" }, { key: "t2", value: "Two" }]);
    const moved = item("a", 0, 3, 4, 2, "t1");
    const out = grid.settle(items, moved, (i) => grid.tabOf(i, d) === "t1");
    const at = (id: string) => out.find((i) => i.widget_id === id)!;
    assert.deepEqual(at("a"), moved);
    assert.equal(at("b").y, 5, "b overlapped a: below it");
    assert.equal(at("c").y, 7, "c then overlapped b: below it");
    assert.deepEqual(at("x"), items[3], "another tab's widget did not move");
    // Nothing overlaps afterwards.
    const mine = out.filter((i) => i.tab === "t1");
    for (const p of mine) for (const q of mine) if (p !== q) assert.ok(p.y + p.height <= q.y || q.y + q.height <= p.y || p.x + p.width <= q.x || q.x + q.width <= p.x, `${p.widget_id} and ${q.widget_id} overlap`);
  });

  test("tabs: an item without a tab, or naming none, is on the first; hidden tabs only when asked", () => {
    const d = dash([item("a", 0, 0, 1, 1), item("b", 0, 0, 1, 1, "gone"), item("c", 0, 1, 1, 1, "t2")], [{ key: "t1", value: "One" }, { key: "t2", value: "Two", hidden: true }]);
    assert.deepEqual(grid.itemsOfTab(d, "t1").map((i) => i.widget_id), ["a", "b"]);
    assert.deepEqual(grid.visibleTabs(d).map((t) => t.key), ["t1"]);
    assert.deepEqual(grid.visibleTabs(d, true).map((t) => t.key), ["t1", "t2"]);
    assert.deepEqual(grid.visibleTabs(dash([])).map((t) => t.key), [""], "a dashboard without tabs has one unnamed tab");
    assert.equal(grid.bottomOf(d.arrangement), 2);
  });
});

describe("the live fan-out", () => {
  test("each record goes to the widgets it names, once per event, without its `widgets` list", () => {
    const fanout = new live.LiveFanout("d1");
    const got: Record<string, unknown[][]> = { w1: [], w2: [] };
    fanout.onLive("w1", (records) => got.w1!.push(records));
    const off = fanout.onLive("w2", (records) => got.w2!.push(records));
    fanout.deliver({ dashboard: "d1", records: [{ id: "r1", variable: "t", value: 1, widgets: ["w1", "w2"] }, { id: "r2", variable: "t", value: 2, widgets: ["w1", "w9"] }] });
    assert.deepEqual(got.w1, [[{ id: "r1", variable: "t", value: 1 }, { id: "r2", variable: "t", value: 2 }]]);
    assert.deepEqual(got.w2, [[{ id: "r1", variable: "t", value: 1 }]]);
    off();
    fanout.deliver({ dashboard: "d1", records: [{ id: "r3", widgets: ["w2"] }] });
    assert.equal(got.w2!.length, 1, "a listener gone hears nothing");
  });

  test("another dashboard's events and hostile shapes are ignored; `dropped` asks every widget to reload", () => {
    const fanout = new live.LiveFanout("d1");
    let records = 0;
    let resyncs = 0;
    fanout.onLive("w1", () => records++);
    fanout.onResync(() => resyncs++);
    for (const hostile of [null, 42, "x", {}, { dashboard: "d2", records: [{ widgets: ["w1"] }] }, { dashboard: "d1", records: "no" }, { dashboard: "d1", records: [null, { widgets: "w1" }, { widgets: [7] }] }]) fanout.deliver(hostile);
    assert.equal(records, 0);
    assert.equal(resyncs, 0);
    fanout.deliver({ dashboard: "d1", records: [], dropped: 12 });
    assert.equal(resyncs, 1);
  });
});

describe("the viewer's choices in a widget's query", () => {
  test("blueprint picks as blueprint_devices[i][origin|id]; the dashboard's range wins over the widget's dates", () => {
    const start = new Date("2026-01-01T00:00:00.000Z");
    const q = context.viewQuery({ query: "downsample", buckets: 300, start_date: "1 day", end_date: "2025-01-01" }, { blueprintPicks: { tank: "dev1", pump: "dev2" }, range: { start, end: "now" } });
    assert.deepEqual(q, { query: "downsample", buckets: 300, start_date: "2026-01-01T00:00:00.000Z", blueprint_devices: [{ origin: "tank", id: "dev1" }, { origin: "pump", id: "dev2" }] });
    const fixed = context.viewQuery({ qty: 5 }, { blueprintPicks: {}, range: { start, end: new Date("2026-01-02T00:00:00.000Z") } });
    assert.deepEqual(fixed, { qty: 5, start_date: "2026-01-01T00:00:00.000Z", end_date: "2026-01-02T00:00:00.000Z" });
    assert.deepEqual(context.viewQuery({ qty: 5 }, { blueprintPicks: {}, range: undefined }), { qty: 5 });
  });
});
