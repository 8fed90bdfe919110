import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type * as Button from "../../console/src/widgets/push_button/options.js";
import type * as Form from "../../console/src/widgets/input_form/options.js";
import type * as Slider from "../../console/src/widgets/slider/options.js";
import type * as Switch from "../../console/src/widgets/switch/options.js";
import type * as MapOptions from "../../console/src/widgets/map/options.js";
import type * as Tracks from "../../console/src/widgets/map/tracks.js";
import type * as Table from "../../console/src/widgets/table/options.js";
import type { DataRecordJson } from "../../src/http/api_types.js";
import { loadConsoleModule } from "../helpers/console_module.js";

// The option readers and checks of the table, map and control widgets: a stored `display` may
// hold anything (the API and imported files keep it as sent), so each type reads it defensively.
let button: typeof Button;
let form: typeof Form;
let slider: typeof Slider;
let switchType: typeof Switch;
let map: typeof MapOptions;
let tracks: typeof Tracks;
let table: typeof Table;

before(async () => {
  button = await loadConsoleModule<typeof Button>("widgets/push_button/options.ts");
  form = await loadConsoleModule<typeof Form>("widgets/input_form/options.ts");
  slider = await loadConsoleModule<typeof Slider>("widgets/slider/options.ts");
  switchType = await loadConsoleModule<typeof Switch>("widgets/switch/options.ts");
  map = await loadConsoleModule<typeof MapOptions>("widgets/map/options.ts");
  tracks = await loadConsoleModule<typeof Tracks>("widgets/map/tracks.ts");
  table = await loadConsoleModule<typeof Table>("widgets/table/options.ts");
});

describe("widget options", () => {
  test("hostile or missing display fields fall back to defaults", () => {
    for (const display of [undefined, null, 42, "x", [], { downlink: "x", qos: 9, min: "a", columns: "all", fields: {} }]) {
      assert.deepEqual(button.parse(display), button.defaults());
      assert.deepEqual(table.parse(display), table.defaults());
      assert.deepEqual(form.parse(display).fields, []);
      assert.equal(slider.parse(display).step, 1);
    }
    const s = slider.parse({ min: 10, max: 5, step: -1 });
    assert.deepEqual([s.min, s.max, s.step], [10, 10, 1]);
    assert.equal(button.parse({ downlink: { topic: "t", qos: 7, retain: "yes" } }).downlink.qos, 0);
    assert.deepEqual(table.parse({ columns: ["time", "evil", "value"], amount: 1e9 }), { columns: ["value", "time"], amount: 100 });
    assert.equal(form.parse({ fields: Array.from({ length: 99 }, () => ({ variable: "v" })) }).fields.length, form.MAX_FIELDS);
  });

  test("a push button's value is sent as its type, or refused", () => {
    const o = button.defaults();
    assert.deepEqual(button.buttonValue({ ...o, value: "12.5", value_type: "number" }), { value: 12.5 });
    assert.deepEqual(button.buttonValue({ ...o, value: "true", value_type: "boolean" }), { value: true });
    assert.deepEqual(button.buttonValue({ ...o, value: "12", value_type: "string" }), { value: "12" });
    assert.ok("error" in button.buttonValue({ ...o, value: "abc", value_type: "number" }));
    assert.ok("error" in button.buttonValue({ ...o, value: "", value_type: "number" }));
    assert.ok("error" in button.buttonValue({ ...o, value: "yes", value_type: "boolean" }));
  });

  test("a switch reads its state from what devices store; a slider keeps values on its steps", () => {
    assert.deepEqual([true, 1, "on", "TRUE", "1", false, 0, "off", "0", undefined].map(switchType.isOn), [true, true, true, true, true, false, false, false, false, undefined]);
    const o = { ...slider.defaults(), min: 0, max: 1, step: 0.1 };
    assert.equal(slider.clampToSlider(0.30000000000000004, o), 0.3);
    assert.equal(slider.clampToSlider(7, o), 1);
    assert.equal(slider.clampToSlider(-3, o), 0);
  });

  test("form fields validate required, bounds and types", () => {
    const number = { variable: "t", label: "Limit", type: "number" as const, required: true, min: 5, max: 30 };
    assert.deepEqual(form.fieldValue(number, "21.5"), { value: 21.5 });
    assert.deepEqual(form.fieldValue(number, ""), { error: "Limit is required" });
    assert.deepEqual(form.fieldValue(number, "31"), { error: "Limit must be at most 30" });
    assert.deepEqual(form.fieldValue(number, "4"), { error: "Limit must be at least 5" });
    assert.deepEqual(form.fieldValue(number, "1e999"), { error: "Limit must be a number" });
    const text = { variable: "s", label: "", type: "text" as const, required: false, max: 3 };
    assert.deepEqual(form.fieldValue(text, ""), { value: undefined });
    assert.deepEqual(form.fieldValue(text, "abcd"), { error: "s must be at most 3 characters" });
    assert.deepEqual(form.fieldValue({ variable: "b", label: "B", type: "boolean", required: false }, true), { value: true });
  });

  test("map tiles must be an http(s) template with {z}/{x}/{y}; records become tracks, bounded, oldest first", () => {
    assert.ok("template" in map.tileTemplate(map.OSM_TILES));
    assert.ok("error" in map.tileTemplate("javascript:alert(1)/{z}/{x}/{y}"));
    assert.ok("error" in map.tileTemplate("https://tiles.example/{z}.png"));
    const at = (device: string, minute: number, lng: number, lat: number): DataRecordJson =>
      ({ id: `${device}${minute}`, device, variable: "p", group: "", time: `2026-01-01T00:0${minute}:00.000Z`, created_at: "", location: { type: "Point", coordinates: [lng, lat] } });
    const t = tracks.addRecords(new Map(), [at("a", 3, 3, 3), at("a", 1, 1, 1), at("a", 2, 2, 2), at("b", 1, 9, 9), { ...at("a", 4, 0, 0), location: { type: "Point", coordinates: [0, 99] } }], 2);
    assert.deepEqual(t.get("a")!.map((p) => [p.lng, p.lat]), [[2, 2], [3, 3]]);
    assert.deepEqual(t.get("b")!.map((p) => [p.lng, p.lat]), [[9, 9]]);
  });
});
