import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import sdk from "@tago-io/sdk";
import { defaultConfig } from "../../src/config/schema.js";
import type { DashboardLiveEventJson, SharedDashboardJson, WidgetDataJson } from "../../src/http/api_types.js";
import { openStream } from "../helpers/sse_client.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// A dashboard's public link: read only, no token, its own rate; revoked or replaced, it stops.
const { Resources } = sdk;

let sluice: TestSluice;
let resources: InstanceType<typeof Resources>;
let device: string;
let dashboard: string;
let widget: string;

before(async () => {
  sluice = await startSluice({ dashboards: { ...defaultConfig.dashboards, shareRequestsPerMinute: 30, shareStreamsPerKey: 2 } });
  resources = new Resources({ token: sluice.adminToken, region: { api: sluice.api, sse: `${sluice.api}/events` } });
  device = (await resources.devices.create({ name: "meter", network: "n", connector: "c", type: "mutable" })).device_id;
  await resources.devices.sendDeviceData(device, { variable: "power", value: 12 });
  dashboard = (await resources.dashboards.create({ label: "public" })).dashboard;
  widget = (await resources.dashboards.widgets.create(dashboard, { label: "p", type: "display", display: {}, data: [{ origin: device, variables: ["power"] as never }] })).widget;
});
after(() => sluice.close());

async function anonymous<T>(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: { status: boolean; result: T; message?: string } }> {
  const res = await fetch(`${sluice.api}${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { status: boolean; result: T; message?: string } };
}

describe("a public link", () => {
  let key: string;
  before(async () => {
    key = (await resources.dashboards.getPublicKey(dashboard)).token;
  });

  test("shows the dashboard, its widgets and their data without a token, and no token anywhere", async () => {
    const shown = await anonymous<SharedDashboardJson>("GET", `/share/${key}/dashboard`);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.result.dashboard.id, dashboard);
    assert.equal(shown.body.result.dashboard.public_share, undefined);
    assert.deepEqual(shown.body.result.widgets.map((w) => w.id), [widget]);
    assert.equal(shown.headers.get("referrer-policy"), "no-referrer");
    assert.equal(shown.headers.get("cache-control"), "no-store");

    const data = await anonymous<WidgetDataJson>("GET", `/share/${key}/data/${widget}`);
    assert.equal(data.status, 200);
    assert.deepEqual((data.body.result.result[0]!.result as { value: number }[]).map((r) => r.value), [12]);

    const devices = await anonymous<{ id: string; name: string }[]>("GET", `/share/${key}/devices`);
    assert.deepEqual(devices.body.result, [{ id: device, name: "meter", blueprint_devices: [] }]);
    const everything = JSON.stringify([shown.body, data.body, devices.body]);
    assert.ok(!everything.includes(sluice.adminToken));
    assert.ok(!everything.includes(key));
  });

  test("refuses every write, and reaches nothing but its dashboard", async () => {
    for (const [method, path] of [
      ["POST", `/share/${key}/data/${widget}`], ["PUT", `/share/${key}/dashboard`], ["DELETE", `/share/${key}/data/${widget}`], ["PATCH", `/share/${key}/dashboard`],
    ] as const) {
      const r = await anonymous(method, path, method === "DELETE" ? undefined : { origin: device, variable: "power", value: 1 });
      // No route under /share takes a write: it is not there to be reached.
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.match(r.body.message ?? "", /not found/);
    }
    assert.deepEqual((await resources.devices.getDeviceData(device, { variables: ["power"], qty: 5 })).map((r) => r.value), [12]);
    const other = (await resources.dashboards.create({ label: "not shared" })).dashboard;
    const otherWidget = (await resources.dashboards.widgets.create(other, { label: "x", type: "note", display: {} })).widget;
    assert.equal((await anonymous("GET", `/share/${key}/data/${otherWidget}`)).status, 404);
    // The account's API stays closed to the key.
    const res = await fetch(`${sluice.api}/dashboard/${dashboard}`, { headers: { token: key } });
    assert.equal(res.status, 401);
  });

  test("pushes the dashboard's live records", async () => {
    const stream = await openStream(`${sluice.api}/share/${key}/events`);
    try {
      assert.equal(stream.status, 200);
      await delay(100);
      await resources.devices.sendDeviceData(device, { variable: "power", value: 13 });
      const message = await stream.next(3000);
      const event = JSON.parse(message.data) as { channel: string; payload: DashboardLiveEventJson };
      assert.equal(event.channel, "dashboard");
      assert.deepEqual(event.payload.records.map((r) => [r.value, r.widgets]), [[13, [widget]]]);
    } finally {
      stream.close();
    }
  });

  test("has its own stream count", async () => {
    const open = [await openStream(`${sluice.api}/share/${key}/events`), await openStream(`${sluice.api}/share/${key}/events`)];
    try {
      const third = await anonymous("GET", `/share/${key}/events`);
      assert.equal(third.status, 429);
      assert.match(third.body.message ?? "", /shareStreamsPerKey/);
    } finally {
      for (const s of open) s.close();
    }
  });
});

describe("revocation and limits", () => {
  test("a revoked key gets 401 and its streams end; a new key replaces the old one", async () => {
    const first = (await resources.dashboards.getPublicKey(dashboard)).token;
    const stream = await openStream(`${sluice.api}/share/${first}/events`);
    const second = (await resources.dashboards.getPublicKey(dashboard)).token;
    await stream.ended(2000);
    assert.equal((await anonymous("GET", `/share/${first}/dashboard`)).status, 401);
    assert.equal((await anonymous("GET", `/share/${second}/dashboard`)).status, 200);
    const res = await fetch(`${sluice.api}/dashboard/${dashboard}/share/public`, { method: "DELETE", headers: { token: sluice.adminToken } });
    assert.equal(res.status, 200);
    const revoked = await anonymous("GET", `/share/${second}/dashboard`);
    assert.equal(revoked.status, 401);
    assert.match(revoked.body.message ?? "", /unknown, revoked or expired/);
    assert.equal((await anonymous("GET", `/share/${"x".repeat(43)}/dashboard`)).status, 401);
  });

  test("an expired key stops working", async () => {
    const { dashboard: d } = await resources.dashboards.create({ label: "expiring" });
    const key = (await resources.dashboards.getPublicKey(d, "1 second" as never)).token;
    assert.equal((await anonymous("GET", `/share/${key}/dashboard`)).status, 200);
    await delay(1100);
    assert.equal((await anonymous("GET", `/share/${key}/dashboard`)).status, 401);
  });

  test("an expired key's open stream ends when it expires, and gets nothing after", async () => {
    // Review 13: only revocation ended streams; a stream opened before expiry kept receiving records.
    const { dashboard: d } = await resources.dashboards.create({ label: "expiring live" });
    await resources.dashboards.widgets.create(d, { label: "p", type: "display", display: {}, data: [{ origin: device, variables: ["power"] as never }] });
    const key = (await resources.dashboards.getPublicKey(d, "2 seconds" as never)).token;
    const stream = await openStream(`${sluice.api}/share/${key}/events`);
    try {
      assert.equal(stream.status, 200);
      await stream.ended(10_000);
      await resources.devices.sendDeviceData(device, { variable: "power", value: 13 });
      await delay(300);
      assert.equal(stream.pending, 0);
    } finally {
      stream.close();
    }
  });

  test("deleting the dashboard ends its links", async () => {
    const { dashboard: d } = await resources.dashboards.create({ label: "short lived" });
    const key = (await resources.dashboards.getPublicKey(d)).token;
    await resources.dashboards.delete(d);
    assert.equal((await anonymous("GET", `/share/${key}/dashboard`)).status, 401);
  });

  test("each link is rate limited on its own (429 with Retry-After)", async () => {
    const { dashboard: d } = await resources.dashboards.create({ label: "busy" });
    const busy = (await resources.dashboards.getPublicKey(d)).token;
    const { dashboard: d2 } = await resources.dashboards.create({ label: "calm" });
    const calm = (await resources.dashboards.getPublicKey(d2)).token;
    const answers = await Promise.all(Array.from({ length: 35 }, () => anonymous("GET", `/share/${busy}/dashboard`)));
    const refused = answers.filter((a) => a.status === 429);
    assert.ok(refused.length >= 5, `${refused.length} refused`);
    assert.ok(Number(refused[0]!.headers.get("retry-after")) >= 1);
    assert.equal((await anonymous("GET", `/share/${calm}/dashboard`)).status, 200);
  });
});
