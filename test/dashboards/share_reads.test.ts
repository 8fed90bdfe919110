import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import { defaultConfig } from "../../src/config/schema.js";
import type { SharedDashboardJson, WidgetDataJson } from "../../src/http/api_types.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// A public link's widget reads are bounded by how many run at once, not only by a rate per
// minute: a read over a long range costs real CPU, and 600 a minute may all run together. And
// what a link shows leaves out what only the owner needs (a control's MQTT downlink).
const { Resources } = sdk;

let sluice: TestSluice;
let resources: InstanceType<typeof Resources>;
let device: string;

before(async () => {
  sluice = await startSluice({
    dashboards: { ...defaultConfig.dashboards, shareRequestsPerMinute: 600, shareReadsConcurrency: 8, shareReadsPerKey: 1, shareReadsWaitingPerKey: 2 },
  });
  resources = new Resources({ token: sluice.adminToken, region: { api: sluice.api, sse: `${sluice.api}/events` } });
  device = (await resources.devices.create({ name: "meter", network: "n", connector: "c", type: "mutable" })).device_id;
  // 60 000 records over a year: a read of them all in 10 000 buckets takes a while on any machine.
  const start = Date.now() - 365 * 86_400_000;
  for (let b = 0; b < 20; b++) {
    const records = Array.from({ length: 3000 }, (_, i) => ({ variable: "power", value: (b * 3000 + i) % 97, time: new Date(start + (b * 3000 + i) * 525_600).toISOString() }));
    await resources.devices.sendDeviceData(device, records);
  }
});
after(() => sluice.close());

async function link(widgetBody: Record<string, unknown>): Promise<{ key: string; widget: string }> {
  const { dashboard } = await resources.dashboards.create({ label: "public" });
  const { widget } = await resources.dashboards.widgets.create(dashboard, widgetBody as never);
  return { key: (await resources.dashboards.getPublicKey(dashboard)).token, widget };
}

const get = async (path: string) => {
  const res = await fetch(`${sluice.api}${path}`);
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as { status: boolean; result: unknown; message?: string } };
};

describe("a public link's widget reads", () => {
  test("run one at a time per link (shareReadsPerKey), two more wait, the rest get 429 at once; another link is served meanwhile", async () => {
    const chart = { label: "power", type: "line", display: {}, data: [{ origin: device, variables: ["power"] }] };
    const busy = await link(chart);
    const other = await link(chart);
    const range = `start_date=${new Date(Date.now() - 366 * 86_400_000).toISOString()}&buckets=10000`;
    const flood = Array.from({ length: 20 }, () => get(`/share/${busy.key}/data/${busy.widget}?${range}`));
    const bystander = await get(`/share/${other.key}/data/${other.widget}?${range}`);
    const answers = await Promise.all(flood);
    assert.equal(bystander.status, 200, "another link has its own share of the slots");
    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(served.length + refused.length, 20, JSON.stringify(answers.map((a) => a.status)));
    // One running and two waiting when the flood arrived; on a slow machine a few more may
    // have found a slot freed between arrivals, never most of them.
    assert.ok(served.length >= 3 && served.length <= 10, `served ${served.length}`);
    for (const r of refused) {
      assert.match(r.body.message ?? "", /already has 2 widget reads waiting/);
      assert.ok(Number(r.retryAfter) >= 1);
    }
    // Once the flood is over, the link reads again.
    assert.equal((await get(`/share/${busy.key}/data/${busy.widget}?${range}`)).status, 200);
  });

  test("a control's MQTT downlink is not shown to a public link; its other options are", async () => {
    const { key, widget } = await link({
      label: "valve", type: "push_button", display: { text: "Open", value: "1", downlink: { topic: "plant/secret-valve/cmd", payload: "{{value}}", qos: 1, retain: false } }, data: [{ origin: device }],
    });
    const shown = await get(`/share/${key}/dashboard`);
    const [w] = (shown.body.result as SharedDashboardJson).widgets;
    assert.deepEqual(w!.display, { text: "Open", value: "1" });
    const data = await get(`/share/${key}/data/${widget}`);
    assert.deepEqual((data.body.result as WidgetDataJson).widget.display, { text: "Open", value: "1" });
    assert.ok(!JSON.stringify([shown.body, data.body]).includes("secret-valve"));
    // The owner still sees it.
    const own = await resources.dashboards.widgets.info((w as { dashboard: string }).dashboard, widget);
    assert.equal((own.display as { downlink: { topic: string } }).downlink.topic, "plant/secret-valve/cmd");
  });
});
