import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import type { WidgetDataJson } from "../../src/http/api_types.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// A widget's data through Resources.dashboards.widgets (getData, sendData, editData,
// deleteData): its data sources decide what is read and where records may be written.
const { Resources } = sdk;
type Sdk = InstanceType<typeof Resources>;

let sluice: TestSluice;
let resources: Sdk;
let deviceA: string;
let deviceB: string;

before(async () => {
  sluice = await startSluice();
  resources = new Resources({ token: sluice.adminToken, region: { api: sluice.api, sse: `${sluice.api}/events` } });
  deviceA = (await resources.devices.create({ name: "a", network: "n", connector: "c", type: "mutable" })).device_id;
  deviceB = (await resources.devices.create({ name: "b", network: "n", connector: "c", type: "mutable" })).device_id;
  const base = Date.parse("2025-01-01T00:00:00Z");
  await resources.devices.sendDeviceData(deviceA, [
    ...Array.from({ length: 20 }, (_, i) => ({ variable: "temperature", value: i, time: new Date(base + i * 60_000).toISOString() })),
    { variable: "humidity", value: 40, time: new Date(base).toISOString() },
  ]);
  await resources.devices.sendDeviceData(deviceB, [{ variable: "temperature", value: 99, time: new Date(base).toISOString() }]);
});
after(() => sluice.close());

const rejectsWith = (pattern: RegExp) => (err: unknown) => {
  assert.match(String(err), pattern);
  return true;
};

async function dashboardWith(widget: Record<string, unknown>, dashboard: Record<string, unknown> = {}): Promise<{ dashboard: string; widget: string }> {
  const { dashboard: id } = await resources.dashboards.create({ label: "data", ...dashboard } as never);
  const { widget: w } = await resources.dashboards.widgets.create(id, { label: "w", type: "line", display: {}, ...widget } as never);
  return { dashboard: id, widget: w };
}

const getData = async (d: { dashboard: string; widget: string }, params: Record<string, unknown> = {}) =>
  (await resources.dashboards.widgets.getData(d.dashboard, d.widget, params as never)) as WidgetDataJson;

describe("GET /data/:dashboard/:widget (widgets.getData)", () => {
  test("each source answers as GET /data would for its device: variables, qty, query", async () => {
    const d = await dashboardWith({
      data: [
        { origin: deviceA, variables: ["temperature"], qty: 3 },
        { origin: deviceA, variables: ["temperature"], query: "max" },
        { origin: deviceB, variables: ["temperature"], query: "last_value" },
      ],
    });
    const data = await getData(d);
    assert.equal(data.widget.id, d.widget);
    assert.equal(data.result.length, 3);
    const [list, max, last] = data.result as { device: string; query: string; result: { value: number; device: string }[] }[];
    assert.deepEqual(list!.result.map((r) => r.value), [19, 18, 17]);
    assert.equal(list!.device, deviceA);
    assert.equal(max!.query, "max");
    assert.deepEqual(max!.result.map((r) => r.value), [19]);
    assert.deepEqual(last!.result.map((r) => [r.device, r.value]), [[deviceB, 99]]);
  });

  test("the request's dates and qty replace the sources'; page/amount page a table", async () => {
    const d = await dashboardWith({ data: [{ origin: deviceA, variables: ["temperature"], qty: 100 }] });
    const window = await getData(d, { start_date: "2025-01-01T00:05:00Z", end_date: "2025-01-01T00:07:00Z" });
    assert.deepEqual((window.result[0]!.result as { value: number }[]).map((r) => r.value), [7, 6, 5]);
    const page2 = await getData(d, { page: 2, amount: 5 });
    assert.deepEqual((page2.result[0]!.result as { value: number }[]).map((r) => r.value), [14, 13, 12, 11, 10]);
  });

  test("buckets=N downsamples every source over the dates: min, max, avg per bucket", async () => {
    const d = await dashboardWith({ data: [{ origin: deviceA, variables: ["temperature"] }] });
    const data = await getData(d, { start_date: "2025-01-01T00:00:00Z", end_date: "2025-01-01T00:19:59.999Z", buckets: 4 });
    assert.equal(data.result[0]!.query, "downsample");
    const buckets = data.result[0]!.result as { time: string; min: number; max: number; avg: number; value: number; count: number }[];
    assert.deepEqual(buckets.map((b) => [b.time, b.min, b.max, b.avg, b.count]), [
      ["2025-01-01T00:00:00.000Z", 0, 4, 2, 5],
      ["2025-01-01T00:05:00.000Z", 5, 9, 7, 5],
      ["2025-01-01T00:10:00.000Z", 10, 14, 12, 5],
      ["2025-01-01T00:15:00.000Z", 15, 19, 17, 5],
    ]);
    assert.ok(buckets.every((b) => b.value === b.avg));
    await assert.rejects(getData(d, { buckets: 4 }), rejectsWith(/needs start_date/));
  });

  test("query=downsample works on the data API itself (GET /device/:id/data, the SDK's getDeviceData)", async () => {
    const buckets = (await resources.devices.getDeviceData(deviceA, {
      query: "downsample", buckets: 2, variables: ["temperature"], start_date: "2025-01-01T00:00:00Z", end_date: "2025-01-01T00:19:59.999Z",
    } as never)) as unknown as { min: number; max: number; count: number }[];
    assert.deepEqual(buckets.map((b) => [b.min, b.max, b.count]), [[0, 9, 10], [10, 19, 10]]);
  });

  test("a source naming a device that is not the account's reads nothing", async () => {
    const otherAccount = await sluice.account();
    const { deviceId: foreign } = await sluice.device({ accountId: otherAccount });
    await sluice.server.identity.getDevice(otherAccount, foreign);
    const d = await dashboardWith({ data: [{ origin: foreign, variables: ["temperature"] }, { origin: deviceB }] });
    const data = await getData(d);
    assert.equal(data.result[0]!.error, "Device not found");
    assert.deepEqual(data.result[0]!.result, []);
    assert.equal(data.result[1]!.device, deviceB);
  });
});

describe("writing through a widget", () => {
  test("sendData stores into a device the widget reads; other devices and variables are refused", async () => {
    const d = await dashboardWith({ type: "input_form", data: [{ origin: deviceB, variables: ["setpoint"] }] });
    assert.deepEqual(await resources.dashboards.widgets.sendData(d.dashboard, d.widget, { origin: deviceB, variable: "setpoint", value: 21 } as never), ["1 Data Added"]);
    const stored = await resources.devices.getDeviceData(deviceB, { variables: ["setpoint"] });
    assert.deepEqual(stored.map((r) => r.value), [21]);
    await assert.rejects(resources.dashboards.widgets.sendData(d.dashboard, d.widget, { origin: deviceA, variable: "setpoint", value: 1 } as never), rejectsWith(/not one this widget reads/));
    await assert.rejects(resources.dashboards.widgets.sendData(d.dashboard, d.widget, { origin: deviceB, variable: "other", value: 1 } as never), rejectsWith(/not one this widget shows/));
    await assert.rejects(resources.dashboards.widgets.sendData(d.dashboard, d.widget, { origin: deviceB, variable: "setpoint", value: 1 } as never, true), rejectsWith(/bypass_bucket/));
  });

  test("editData and deleteData act on the records of the widget's devices", async () => {
    const d = await dashboardWith({ data: [{ origin: deviceB, variables: ["note"] }] });
    await resources.dashboards.widgets.sendData(d.dashboard, d.widget, [{ origin: deviceB, variable: "note", value: "a" }, { origin: deviceB, variable: "note", value: "b" }] as never);
    const [first, second] = await resources.devices.getDeviceData(deviceB, { variables: ["note"], qty: 2 });
    assert.equal(
      await resources.dashboards.widgets.editData(d.dashboard, d.widget, { origin: deviceB, id: first!.id, variable: "note", value: "edited" } as never),
      "1 item(s) updated",
    );
    assert.deepEqual((await resources.devices.getDeviceData(deviceB, { variables: ["note"], qty: 2 })).map((r) => r.value).sort(), ["a", "edited"].sort());
    assert.equal(await resources.dashboards.widgets.deleteData(d.dashboard, d.widget, [`${second!.id}:${deviceB}`]), "1 Data Removed");
    assert.deepEqual((await resources.devices.getDeviceData(deviceB, { variables: ["note"], qty: 5 })).map((r) => r.value), ["edited"]);
    await assert.rejects(resources.dashboards.widgets.deleteData(d.dashboard, d.widget, [`${first!.id}:${deviceA}`]), rejectsWith(/not one this widget reads/));
  });
});

describe("blueprint dashboards", () => {
  let slotted: { dashboard: string; widget: string };
  let north1: string;
  let north2: string;
  let south: string;

  before(async () => {
    const make = async (name: string, site: string) => {
      const { device_id } = await resources.devices.create({ name, network: "n", connector: "c", type: "mutable", tags: [{ key: "site", value: site }, { key: "kind", value: "meter" }] });
      await resources.devices.sendDeviceData(device_id, { variable: "power", value: name.length });
      return device_id;
    };
    north2 = await make("north meter two", "north");
    north1 = await make("north meter 1", "north");
    south = await make("south", "south");
    slotted = await dashboardWith(
      { data: [{ origin: "meter", variables: ["power"], query: "last_value" }] },
      { type: "blueprint", blueprint_devices: [{ id: "meter", name: "Meter", conditions: [{ key: "site", value: "nor*" }, { key: "kind", value: "meter" }] }] },
    );
  });

  test("the request picks the device of a slot, as getData sends blueprint_devices", async () => {
    const data = await getData(slotted, { blueprint_devices: [{ origin: "meter", id: north2 }] });
    assert.equal(data.result[0]!.device, north2);
    assert.deepEqual((data.result[0]!.result as { value: number }[]).map((r) => r.value), ["north meter two".length]);
  });

  test("without a pick, the first fitting device by name", async () => {
    const data = await getData(slotted);
    assert.equal(data.result[0]!.device, north1);
  });

  test("a device that does not fit the slot's tags is refused", async () => {
    await assert.rejects(getData(slotted, { blueprint_devices: [{ origin: "meter", id: south }] }), rejectsWith(/does not fit the blueprint device "Meter"/));
    await assert.rejects(getData(slotted, { blueprint_devices: [{ origin: "nope", id: south }] }), rejectsWith(/names no blueprint device/));
  });

  test("GET /dashboard/:id/devices lists the fitting devices, with the slots they fit", async () => {
    const related = (await resources.dashboards.listDevicesRelated(slotted.dashboard)) as unknown as { id: string; blueprint_devices: string[] }[];
    assert.deepEqual(related.map((r) => r.id).sort(), [north1, north2].sort());
    assert.ok(related.every((r) => r.blueprint_devices.join() === "meter"));
  });

  test("a widget of a slot writes to a fitting device only", async () => {
    const input = await dashboardWith(
      { data: [{ origin: "meter", variables: ["limit"] }] },
      { type: "blueprint", blueprint_devices: [{ id: "meter", name: "Meter", conditions: [{ key: "site", value: "north" }] }] },
    );
    assert.deepEqual(await resources.dashboards.widgets.sendData(input.dashboard, input.widget, { origin: north1, variable: "limit", value: 5 } as never), ["1 Data Added"]);
    await assert.rejects(resources.dashboards.widgets.sendData(input.dashboard, input.widget, { origin: south, variable: "limit", value: 5 } as never), rejectsWith(/not one this widget reads/));
  });
});
