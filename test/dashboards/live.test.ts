import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import sdk from "@tago-io/sdk";
import { defaultConfig } from "../../src/config/schema.js";
import { AccountDevices } from "../../src/dashboards/devices.js";
import { DashboardLive } from "../../src/dashboards/live.js";
import { DashboardService } from "../../src/dashboards/service.js";
import type { StoredRecord } from "../../src/data/types.js";
import { EventHub } from "../../src/events/hub.js";
import type { DashboardLiveEventJson } from "../../src/http/api_types.js";
import { IdentityService } from "../../src/identity/service.js";
import { backends } from "../helpers/backends.js";
import { openStream, type SseStreamClient } from "../helpers/sse_client.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Live dashboards: a record stored (here, published over MQTT and stored by an insert action)
// reaches the `dashboard.<id>` channel of /events, with the widgets that show it.
const { Resources } = sdk;

let sluice: TestSluice;
let resources: InstanceType<typeof Resources>;

before(async () => {
  sluice = await startSluice({ dashboards: { ...defaultConfig.dashboards, liveRecordsPerEvent: 5, liveEventsPerSecond: 50 } });
  resources = new Resources({ token: sluice.adminToken, region: { api: sluice.api, sse: `${sluice.api}/events` } });
});
after(() => sluice.close());

async function insertAction(deviceId: string, topic: string): Promise<void> {
  await resources.actions.create({ name: `store ${topic}`, type: "mqtt_topic", trigger: [{ device: deviceId, topic } as never], action: { type: "insert_bucket" } as never });
}

async function liveStream(dashboard: string, token = sluice.adminToken): Promise<SseStreamClient> {
  const stream = await openStream(`${sluice.api}/events?channels=dashboard.${dashboard}&token=${token}`);
  assert.equal(stream.status, 200);
  // The hub prepares the dashboard when its channel gets a listener: give that a moment.
  await delay(100);
  return stream;
}

async function nextEvent(stream: SseStreamClient, timeoutMs = 3000): Promise<DashboardLiveEventJson> {
  const message = await stream.next(timeoutMs);
  const parsed = JSON.parse(message.data) as { channel: string; payload: DashboardLiveEventJson };
  assert.equal(parsed.channel, "dashboard");
  return parsed.payload;
}

describe("the dashboard.<id> channel", () => {
  test("carries a record published over MQTT and stored, naming the widgets that show it", async () => {
    const dev = await sluice.device();
    await insertAction(dev.deviceId, "plant/+/up");
    const { dashboard } = await resources.dashboards.create({ label: "live" });
    const chart = (await resources.dashboards.widgets.create(dashboard, { label: "t", type: "line", display: {}, data: [{ origin: dev.deviceId, variables: ["temperature"] as never }] })).widget;
    const all = (await resources.dashboards.widgets.create(dashboard, { label: "all", type: "table", display: {}, data: [{ origin: dev.deviceId }] })).widget;
    const stream = await liveStream(dashboard);
    try {
      const client = await sluice.connect({ username: "Token", password: dev.token });
      await client.publishAsync("plant/boiler/up", JSON.stringify([{ variable: "temperature", value: 71.5, unit: "C" }, { variable: "pressure", value: 2 }]), { qos: 1 });
      const event = await nextEvent(stream);
      assert.equal(event.dashboard, dashboard);
      const byVariable = new Map(event.records.map((r) => [r.variable, r]));
      assert.equal(byVariable.get("temperature")?.value, 71.5);
      assert.equal(byVariable.get("temperature")?.device, dev.deviceId);
      assert.deepEqual(byVariable.get("temperature")?.widgets.sort(), [chart, all].sort());
      assert.deepEqual(byVariable.get("pressure")?.widgets, [all]);
      assert.match(byVariable.get("temperature")!.id, /^[0-9a-f]{24}$/);
    } finally {
      stream.close();
    }
  });

  test("records of devices and variables no widget shows are not sent", async () => {
    const shown = await sluice.device();
    const hidden = await sluice.device();
    const { dashboard } = await resources.dashboards.create({ label: "filtered" });
    await resources.dashboards.widgets.create(dashboard, { label: "t", type: "line", display: {}, data: [{ origin: shown.deviceId, variables: ["level"] as never }] });
    const stream = await liveStream(dashboard);
    try {
      await resources.devices.sendDeviceData(hidden.deviceId, { variable: "level", value: 1 });
      await resources.devices.sendDeviceData(shown.deviceId, { variable: "other", value: 2 });
      await resources.devices.sendDeviceData(shown.deviceId, { variable: "level", value: 3 });
      const event = await nextEvent(stream);
      assert.deepEqual(event.records.map((r) => [r.device, r.variable, r.value]), [[shown.deviceId, "level", 3]]);
    } finally {
      stream.close();
    }
  });

  test("an edited widget is watched anew: its new variable is sent from then on", async () => {
    const dev = await sluice.device();
    const { dashboard } = await resources.dashboards.create({ label: "edited" });
    const { widget } = await resources.dashboards.widgets.create(dashboard, { label: "t", type: "line", display: {}, data: [{ origin: dev.deviceId, variables: ["a"] as never }] });
    const stream = await liveStream(dashboard);
    try {
      await resources.dashboards.widgets.edit(dashboard, widget, { data: [{ origin: dev.deviceId, variables: ["b"] as never }] });
      await delay(100);
      await resources.devices.sendDeviceData(dev.deviceId, [{ variable: "a", value: 1 }, { variable: "b", value: 2 }]);
      const event = await nextEvent(stream);
      assert.deepEqual(event.records.map((r) => r.variable), ["b"]);
    } finally {
      stream.close();
    }
  });

  test("a blueprint dashboard sends the records of every device fitting its slot", async () => {
    const { device_id: fits } = await resources.devices.create({ name: "fits", network: "n", connector: "c", type: "mutable", tags: [{ key: "line", value: "l1" }] });
    const { device_id: other } = await resources.devices.create({ name: "other", network: "n", connector: "c", type: "mutable", tags: [{ key: "line", value: "l2" }] });
    const { dashboard } = await resources.dashboards.create({ label: "bp", type: "blueprint", blueprint_devices: [{ id: "m", name: "Machine", conditions: [{ key: "line", value: "l1" }] }] } as never);
    await resources.dashboards.widgets.create(dashboard, { label: "t", type: "line", display: {}, data: [{ origin: "m", variables: ["speed"] as never }] });
    const stream = await liveStream(dashboard);
    try {
      await resources.devices.sendDeviceData(other, { variable: "speed", value: 1 });
      await resources.devices.sendDeviceData(fits, { variable: "speed", value: 2 });
      const event = await nextEvent(stream);
      assert.deepEqual(event.records.map((r) => [r.device, r.value]), [[fits, 2]]);
      // A device tagged to fit later is watched too, once the account's devices are re-read.
      await resources.devices.edit(other, { tags: [{ key: "line", value: "l1" }] });
      await delay(300);
      await resources.devices.sendDeviceData(other, { variable: "speed", value: 3 });
      const later = await nextEvent(stream);
      assert.deepEqual(later.records.map((r) => [r.device, r.value]), [[other, 3]]);
    } finally {
      stream.close();
    }
  });

  test("fan-out is bounded: one event carries at most liveRecordsPerEvent records, the rest counted", async () => {
    const dev = await sluice.device();
    const { dashboard } = await resources.dashboards.create({ label: "burst" });
    await resources.dashboards.widgets.create(dashboard, { label: "t", type: "line", display: {}, data: [{ origin: dev.deviceId }] });
    const stream = await liveStream(dashboard);
    try {
      await resources.devices.sendDeviceData(dev.deviceId, Array.from({ length: 20 }, (_, i) => ({ variable: "v", value: i })));
      const event = await nextEvent(stream);
      assert.equal(event.records.length, 5);
      assert.equal(event.dropped, 15);
    } finally {
      stream.close();
    }
  });

  test("another account cannot listen to the dashboard", async () => {
    const dev = await sluice.device();
    const { dashboard } = await resources.dashboards.create({ label: "mine" });
    await resources.dashboards.widgets.create(dashboard, { label: "t", type: "line", display: {}, data: [{ origin: dev.deviceId }] });
    const otherAccount = await sluice.account();
    const { token } = await sluice.server.identity.issueAccountToken(otherAccount, { name: "t" });
    const stream = await liveStream(dashboard, token);
    try {
      await resources.devices.sendDeviceData(dev.deviceId, { variable: "v", value: 1 });
      await assert.rejects(stream.next(500), /no event/);
    } finally {
      stream.close();
    }
  });
});

for (const h0 of backends()) describe(`DashboardLive, dashboards on ${h0.name}`, () => {
  test("costs nothing per stored record while no dashboard channel is listened to", async () => {
    const h = await h0.start();
    const store = await h.store();
    const identity = new IdentityService(store.identity);
    const hub = new EventHub();
    const dashboards = new DashboardService({ repo: store.dashboards, limits: defaultConfig.dashboards });
    let reads = 0;
    const get = dashboards.get.bind(dashboards);
    dashboards.get = (a, id) => {
      reads++;
      return get(a, id);
    };
    const live = new DashboardLive({ hub, dashboards, devices: new AccountDevices(identity), identity, eventsPerSecond: 10, recordsPerEvent: 10, onError: (err) => assert.fail(String(err)) });
    try {
      const { accountId } = await identity.createAccount("a");
      const { device } = await identity.createDevice(accountId, { name: "d" });
      await dashboards.create(accountId, { label: "x" });
      const record: StoredRecord = { id: "0".repeat(24), device: device.id, variable: "v", value: 1, unit: null, time: new Date(), group: "g", location: null, metadata: null, createdAt: new Date() };
      // Another channel listened to does not count.
      const off = hub.subscribe(accountId, ["notification"], () => {});
      for (let i = 0; i < 10_000; i++) live.stored(device.id, [record]);
      off();
      assert.equal(reads, 0);
      assert.equal(live.watched, 0);
    } finally {
      live.close();
      identity.stop();
      await h.stop();
    }
  });
});
