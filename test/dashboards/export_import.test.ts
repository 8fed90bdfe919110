import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import type { DashboardExportJson } from "../../src/http/api_types.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Dashboards as JSON files: an export holds no id of this server but device ids (listed, and
// replaceable on import), and an import is checked field by field.
const { Resources } = sdk;

let sluice: TestSluice;
let resources: InstanceType<typeof Resources>;

before(async () => {
  sluice = await startSluice();
  resources = new Resources({ token: sluice.adminToken, region: { api: sluice.api, sse: `${sluice.api}/events` } });
});
after(() => sluice.close());

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: { status: boolean; result: T; message?: string; path?: string } }> {
  const res = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token: sluice.adminToken, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { status: boolean; result: T; message?: string; path?: string } };
}

async function exported(id: string): Promise<DashboardExportJson> {
  const r = await call<DashboardExportJson>("GET", `/dashboard/${id}/export`);
  assert.equal(r.status, 200, r.body.message);
  return r.body.result;
}

describe("export → import", () => {
  let source: string;
  let device: string;
  let widgets: string[];

  before(async () => {
    device = (await resources.devices.create({ name: "boiler", network: "n", connector: "c", type: "mutable" })).device_id;
    source = (await resources.dashboards.create({
      label: "Boiler room", tags: [{ key: "team", value: "ops" }],
      tabs: [{ key: "t1", value: "Overview" }, { key: "t2", value: "History" }], theme: { color: "#123" },
    } as never)).dashboard;
    widgets = [];
    for (const [label, type] of [["Temperature", "line"], ["Pressure", "dial"]] as const) {
      widgets.push((await resources.dashboards.widgets.create(source, {
        label, type, display: { unit: "C", thresholds: [{ at: 80, color: "red" }] }, realtime: true,
        data: [{ origin: device, variables: [label.toLowerCase()] as never, qty: 100 }],
      })).widget);
    }
    await resources.dashboards.edit(source, {
      arrangement: [{ widget_id: widgets[0]!, x: 0, y: 0, width: 4, height: 3, tab: "t1" }, { widget_id: widgets[1]!, x: 4, y: 0, width: 2, height: 3, tab: "t2" }],
    });
  });

  test("the export names no id of this server but devices, which it lists with their names", async () => {
    const file = await exported(source);
    assert.equal(file.format, "sluice-dashboard");
    assert.equal(file.version, 1);
    const text = JSON.stringify(file);
    for (const id of [source, ...widgets]) assert.ok(!text.includes(id), `the export holds ${id}`);
    assert.deepEqual(file.devices, [{ id: device, name: "boiler" }]);
    assert.deepEqual(file.widgets.map((w) => w.ref), ["w1", "w2"]);
    assert.deepEqual(file.dashboard.arrangement.map((a) => [a.widget_id, a.tab]), [["w1", "t1"], ["w2", "t2"]]);
    assert.equal((file.dashboard as Record<string, unknown>).id, undefined);
  });

  test("an import makes the same dashboard under new ids; exporting it again gives the same file", async () => {
    const file = await exported(source);
    const r = await call<{ dashboard: string; widgets: number }>("POST", "/dashboard/import", file);
    assert.equal(r.status, 200, r.body.message);
    assert.equal(r.body.result.widgets, 2);
    const copy = r.body.result.dashboard;
    assert.notEqual(copy, source);
    const again = await exported(copy);
    const strip = (f: DashboardExportJson) => ({ ...f, exported_at: undefined });
    assert.deepEqual(strip(again), strip(file));
    const info = await resources.dashboards.info(copy);
    assert.equal(info.label, "Boiler room");
    assert.deepEqual((info as unknown as { theme: unknown }).theme, { color: "#123" });
    const w = await resources.dashboards.widgets.info(copy, info.arrangement![0]!.widget_id);
    assert.equal(w.label, "Temperature");
    assert.deepEqual(w.data, [{ origin: device, variables: ["temperature"], qty: 100 }]);
  });

  test("device_map points a template at other devices; label renames it", async () => {
    const other = (await resources.devices.create({ name: "boiler 2", network: "n", connector: "c", type: "mutable" })).device_id;
    const file = await exported(source);
    const r = await call<{ dashboard: string }>("POST", "/dashboard/import", { ...file, label: "Boiler room 2", device_map: { [device]: other } });
    assert.equal(r.status, 200, r.body.message);
    const again = await exported(r.body.result.dashboard);
    assert.equal(again.dashboard.label, "Boiler room 2");
    assert.deepEqual(again.devices, [{ id: other, name: "boiler 2" }]);
  });
});

describe("hostile imports: 400 with the path of the bad field", () => {
  const valid = (): Record<string, unknown> => ({
    format: "sluice-dashboard", version: 1,
    dashboard: { label: "ok", arrangement: [{ widget_id: "w1", x: 0, y: 0, width: 1, height: 1 }] },
    widgets: [{ ref: "w1", label: "x", type: "note", display: {}, data: [] }],
  });

  const cases: [string, (f: Record<string, unknown>) => unknown, string, RegExp][] = [
    ["not an object", () => [1, 2], "body", /must be an object/],
    ["a wrong format", (f) => ({ ...f, format: "grafana" }), "body.format", /sluice-dashboard/],
    ["a future version", (f) => ({ ...f, version: 2 }), "body.version", /must be 1/],
    ["an unknown top key", (f) => ({ ...f, owner: "me" }), "body.owner", /is not part of a dashboard export/],
    ["no dashboard", (f) => ({ ...f, dashboard: undefined }), "body.dashboard", /must be an object/],
    ["an empty label", (f) => ({ ...f, dashboard: { label: "" } }), "body.dashboard.label", /must not be empty/],
    ["a label of the wrong type", (f) => ({ ...f, label: 42 }), "body.dashboard.label", /must be a string/],
    ["widgets not a list", (f) => ({ ...f, widgets: { w1: {} } }), "body.widgets", /must be an array/],
    ["a widget without ref", (f) => ({ ...f, widgets: [{ label: "x", type: "note" }] }), "body.widgets[0].ref", /must be a string/],
    ["a repeated ref", (f) => ({ ...f, widgets: [{ ref: "w1", label: "a", type: "note" }, { ref: "w1", label: "b", type: "note" }] }), "body.widgets[1].ref", /repeats/],
    ["a widget type with spaces", (f) => ({ ...f, widgets: [{ ref: "w1", label: "a", type: "line chart" }] }), "body.widgets[0].type", /must match/],
    ["a source without origin", (f) => ({ ...f, widgets: [{ ref: "w1", label: "a", type: "line", data: [{ variables: ["t"] }] }] }), "body.widgets[0].data[0].origin", /must be a string/],
    ["a source query Sluice has not", (f) => ({ ...f, widgets: [{ ref: "w1", label: "a", type: "line", data: [{ origin: "d", query: "drop table" }] }] }), "body.widgets[0].data[0].query", /must be one of/],
    ["a bad source date", (f) => ({ ...f, widgets: [{ ref: "w1", label: "a", type: "line", data: [{ origin: "d", start_date: "yesterday-ish" }] }] }), "body.widgets[0].data[0].start_date", /must be a date/],
    ["a qty past 10 000", (f) => ({ ...f, widgets: [{ ref: "w1", label: "a", type: "line", data: [{ origin: "d", qty: 1e9 }] }] }), "body.widgets[0].data[0].qty", /integer from 1 to 10000/],
    ["an arrangement naming no widget", (f) => ({ ...f, dashboard: { label: "x", arrangement: [{ widget_id: "w9", x: 0, y: 0, width: 1, height: 1 }] } }), "body.dashboard.arrangement[0].widget_id", /names no widget of the file/],
    ["a negative coordinate", (f) => ({ ...f, dashboard: { label: "x", arrangement: [{ widget_id: "w1", x: -1, y: 0, width: 1, height: 1 }] } }), "body.dashboard.arrangement[0].x", /number from 0/],
    ["an arrangement tab that does not exist", (f) => ({ ...f, dashboard: { label: "x", arrangement: [{ widget_id: "w1", x: 0, y: 0, width: 1, height: 1, tab: "t9" }] } }), "body.dashboard.arrangement[0].tab", /names no tab/],
    ["repeated tab keys", (f) => ({ ...f, dashboard: { label: "x", tabs: [{ key: "a", value: "A" }, { key: "a", value: "B" }] } }), "body.dashboard.tabs[1].key", /repeats/],
    ["a dashboard type Sluice has not", (f) => ({ ...f, dashboard: { label: "x", type: "tagorun" } }), "body.dashboard.type", /must be one of dashboard, blueprint/],
    ["a blueprint condition without key", (f) => ({ ...f, dashboard: { label: "x", blueprint_devices: [{ id: "s", conditions: [{ value: "v" }] }] } }), "body.dashboard.blueprint_devices[0].conditions[0].key", /must be a string/],
    ["a device_map to a non-id", (f) => ({ ...f, device_map: { abc: "x y" } }), "body.device_map.abc", /must match/],
    ["display nested too deep", (f) => ({ ...f, widgets: [{ ref: "w1", label: "a", type: "note", display: JSON.parse(`${'{"a":'.repeat(40)}1${"}".repeat(40)}`) }] }), `body.widgets[0].display${".a".repeat(32)}`, /nests deeper than 32/],
    ["too many widgets", (f) => ({ ...f, widgets: Array.from({ length: 101 }, (_, i) => ({ ref: `w${i}`, label: "a", type: "note" })) }), "body.widgets", /at most 100 items/],
    ["a widget over its bytes", (f) => ({ ...f, widgets: [{ ref: "w1", label: "a", type: "note", display: { text: "x".repeat(70_000) } }] }), "body.widgets[0]", /maxWidgetBytes/],
  ];

  for (const [name, make, path, message] of cases) {
    test(name, async () => {
      const r = await call("POST", "/dashboard/import", make(valid()));
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.status, false);
      assert.equal(r.body.path, path, r.body.message);
      assert.match(r.body.message ?? "", message);
    });
  }

  test("a __proto__ key, or a body nested a million levels deep, is refused and pollutes nothing", async () => {
    const proto = await call("POST", "/dashboard/import", `{"format":"sluice-dashboard","version":1,"dashboard":{"label":"x","__proto__":{"polluted":1}},"widgets":[]}`);
    assert.equal(proto.status, 400);
    const deep = await call("POST", "/dashboard/import", `{"format":"sluice-dashboard","version":1,"dashboard":{"label":"x","setup":${"[".repeat(200_000)}${"]".repeat(200_000)}},"widgets":[]}`);
    assert.equal(deep.status, 400);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const ok = await call("POST", "/dashboard/import", valid());
    assert.equal(ok.status, 200, ok.body.message);
  });

  test("nothing half-imported stays behind a refusal", async () => {
    const before = (await resources.dashboards.list({ amount: 10_000 })).length;
    const r = await call("POST", "/dashboard/import", { ...valid(), widgets: [{ ref: "w1", label: "a", type: "note" }, { ref: "w2", label: "b", type: "bad type" }] });
    assert.equal(r.status, 400);
    assert.equal((await resources.dashboards.list({ amount: 10_000 })).length, before);
  });
});
