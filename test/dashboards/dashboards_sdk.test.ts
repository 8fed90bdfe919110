import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Dashboards and widgets through the official @tago-io/sdk, unchanged, against a whole Sluice:
// if these pass, TagoIO code that builds dashboards works against Sluice.
const { Resources } = sdk;
type Sdk = InstanceType<typeof Resources>;

let sluice: TestSluice;
let resources: Sdk;
const connect = (token: string, api = sluice.api): Sdk => new Resources({ token, region: { api, sse: `${api}/events` } });

before(async () => {
  sluice = await startSluice();
  resources = connect(sluice.adminToken);
});
after(() => sluice.close());

const rejectsWith = (pattern: RegExp) => (err: unknown) => {
  assert.match(String(err), pattern);
  return true;
};

describe("dashboards through Resources.dashboards", () => {
  test("create, info, edit with arrangement, list, delete", async () => {
    const { dashboard } = await resources.dashboards.create({ label: "Plant", tags: [{ key: "site", value: "north" }] });
    assert.match(dashboard, /^[0-9a-f]{24}$/);

    const info = await resources.dashboards.info(dashboard);
    assert.equal(info.id, dashboard);
    assert.equal(info.label, "Plant");
    assert.deepEqual(info.tags, [{ key: "site", value: "north" }]);
    assert.equal(info.type, "dashboard");
    assert.deepEqual(info.arrangement, []);
    assert.ok(info.created_at instanceof Date);
    assert.equal((info as unknown as { public_share: unknown }).public_share, null);

    const { widget } = await resources.dashboards.widgets.create(dashboard, {
      label: "Temperature", type: "display",
      data: [{ origin: "0123456789abcdef01234567", variables: ["temperature"] as never, qty: 1 }],
      display: { show_units: true, variables: [{ origin: "0123456789abcdef01234567", variable: "temperature" }] },
    });
    assert.equal(
      await resources.dashboards.edit(dashboard, { label: "Plant 1", arrangement: [{ widget_id: widget, x: 0, y: 0, width: 2, height: 3, minW: 1, minH: 2 } as never] }),
      "Successfully Updated",
    );
    const edited = await resources.dashboards.info(dashboard);
    assert.equal(edited.label, "Plant 1");
    assert.deepEqual(edited.arrangement, [{ widget_id: widget, x: 0, y: 0, width: 2, height: 3, minW: 1, minH: 2 }]);
    assert.deepEqual(edited.tags, [{ key: "site", value: "north" }], "fields the edit left out stay");

    const listed = await resources.dashboards.list({ filter: { label: "Plant*" } as never, fields: ["id", "label", "tags"] as never });
    assert.deepEqual(listed.map((d) => d.id), [dashboard]);
    assert.deepEqual(Object.keys(listed[0]!).sort(), ["id", "label", "tags"]);

    assert.equal(await resources.dashboards.delete(dashboard), "Successfully Removed");
    await assert.rejects(resources.dashboards.info(dashboard), rejectsWith(/Dashboard not found/));
  });

  test("list pages and orders as TagoIO lists do", async () => {
    const ids: string[] = [];
    for (const label of ["zeta", "alpha", "mid"]) ids.push((await resources.dashboards.create({ label: `order-${label}` })).dashboard);
    const page1 = await resources.dashboards.list({ filter: { label: "order-*" } as never, amount: 2, page: 1, orderBy: ["label", "asc"] });
    const page2 = await resources.dashboards.list({ filter: { label: "order-*" } as never, amount: 2, page: 2, orderBy: ["label", "asc"] });
    assert.deepEqual([...page1, ...page2].map((d) => d.label), ["order-alpha", "order-mid", "order-zeta"]);
    const desc = await resources.dashboards.list({ filter: { label: "order-*" } as never, orderBy: ["label", "desc"] });
    assert.deepEqual(desc.map((d) => d.label), ["order-zeta", "order-mid", "order-alpha"]);
    for (const id of ids) await resources.dashboards.delete(id);
  });

  test("tabs: arrangement items name a tab by its key", async () => {
    const { dashboard } = await resources.dashboards.create({ label: "tabs", tabs: [{ key: "main", value: "Main" }, { key: "energy", value: "Energy" }] } as never);
    const { widget } = await resources.dashboards.widgets.create(dashboard, { label: "note", type: "note", display: { text: "hi" } });
    await resources.dashboards.edit(dashboard, { arrangement: [{ widget_id: widget, x: 0, y: 0, width: 1, height: 1, tab: "energy" }] });
    assert.equal((await resources.dashboards.info(dashboard)).arrangement![0]!.tab, "energy");
    await assert.rejects(
      resources.dashboards.edit(dashboard, { arrangement: [{ widget_id: widget, x: 0, y: 0, width: 1, height: 1, tab: "nope" }] }),
      rejectsWith(/body\.arrangement\[0\]\.tab names no tab/),
    );
  });

  test("duplicate copies the widgets and their places under new ids", async () => {
    const { dashboard } = await resources.dashboards.create({ label: "original" });
    const { widget } = await resources.dashboards.widgets.create(dashboard, { label: "chart", type: "line", display: { colors: ["#f00"] }, data: [] });
    await resources.dashboards.edit(dashboard, { arrangement: [{ widget_id: widget, x: 1, y: 2, width: 3, height: 4 }] });
    const copy = await resources.dashboards.duplicate(dashboard, { new_label: "the copy" });
    assert.notEqual(copy.dashboard_id, dashboard);
    const info = await resources.dashboards.info(copy.dashboard_id);
    assert.equal(info.label, "the copy");
    const place = info.arrangement![0]!;
    assert.notEqual(place.widget_id, widget);
    assert.deepEqual({ ...place, widget_id: "" }, { widget_id: "", x: 1, y: 2, width: 3, height: 4 });
    const copied = await resources.dashboards.widgets.info(copy.dashboard_id, place.widget_id);
    assert.equal(copied.label, "chart");
    assert.deepEqual(copied.display, { colors: ["#f00"] });
    assert.equal((await resources.dashboards.duplicate(dashboard)).message, "Dashboard Successfully Duplicated");
  });

  test("a public key comes back once, and the info shows the link without it", async () => {
    const { dashboard } = await resources.dashboards.create({ label: "shared" });
    const key = await resources.dashboards.getPublicKey(dashboard);
    assert.match(key.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(key.expire_time, "never");
    const info = (await resources.dashboards.info(dashboard)) as unknown as { public_share: { prefix: string; expire_time: string } };
    assert.equal(info.public_share.prefix, key.token.slice(0, 6));
    assert.ok(!JSON.stringify(info).includes(key.token));
    const timed = await resources.dashboards.getPublicKey(dashboard, "1 day" as never);
    assert.ok(timed.expire_time instanceof Date && timed.expire_time.getTime() > Date.now() + 23 * 3600_000);
  });
});

describe("widgets through Resources.dashboards.widgets", () => {
  test("create, info, edit, delete; the delete takes the widget's place off the arrangement", async () => {
    const { dashboard } = await resources.dashboards.create({ label: "widgets" });
    const { widget } = await resources.dashboards.widgets.create(dashboard, {
      label: "Gauge", type: "dial", realtime: true,
      data: [{ origin: "aaaaaaaaaaaaaaaaaaaaaaaa", variables: ["Level"] as never, query: "last_value" as never }],
      display: { min: 0, max: 100 },
    });
    const info = await resources.dashboards.widgets.info(dashboard, widget);
    assert.equal(info.id, widget);
    assert.equal(info.dashboard, dashboard);
    assert.equal(info.type, "dial");
    assert.deepEqual(info.data, [{ origin: "aaaaaaaaaaaaaaaaaaaaaaaa", variables: ["level"], query: "last_value" }]);
    assert.deepEqual(info.display, { min: 0, max: 100 });

    assert.equal(await resources.dashboards.widgets.edit(dashboard, widget, { label: "Level" }), "Successfully Updated");
    const edited = await resources.dashboards.widgets.info(dashboard, widget);
    assert.equal(edited.label, "Level");
    assert.deepEqual(edited.display, { min: 0, max: 100 });

    await resources.dashboards.edit(dashboard, { arrangement: [{ widget_id: widget, x: 0, y: 0, width: 1, height: 1 }] });
    assert.equal(await resources.dashboards.widgets.delete(dashboard, widget), "Successfully Removed");
    await assert.rejects(resources.dashboards.widgets.info(dashboard, widget), rejectsWith(/Widget not found/));
    assert.deepEqual((await resources.dashboards.info(dashboard)).arrangement, []);
  });

  test("a bad widget is refused with the path of the field", async () => {
    const { dashboard } = await resources.dashboards.create({ label: "bad widgets" });
    const res = await fetch(`${sluice.api}/dashboard/${dashboard}/widget`, {
      method: "POST",
      headers: { token: sluice.adminToken, "content-type": "application/json" },
      body: JSON.stringify({ label: "x", type: "line", data: [{ origin: "d1" }, { origin: 5 }] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { status: boolean; message: string; path: string };
    assert.equal(body.path, "body.data[1].origin");
    assert.match(body.message, /body\.data\[1\]\.origin must be a string/);
  });

  test("widgets per dashboard and bytes per widget are bounded", async () => {
    const small = await startSluice({ dashboards: { ...sluice.server.config.dashboards, maxWidgetsPerDashboard: 2, maxWidgetBytes: 2048 } });
    try {
      const r = connect(small.adminToken, small.api);
      const { dashboard } = await r.dashboards.create({ label: "bounded" });
      await r.dashboards.widgets.create(dashboard, { label: "1", type: "note", display: {} });
      await r.dashboards.widgets.create(dashboard, { label: "2", type: "note", display: {} });
      await assert.rejects(r.dashboards.widgets.create(dashboard, { label: "3", type: "note", display: {} }), rejectsWith(/maxWidgetsPerDashboard/));
      const { dashboard: other } = await r.dashboards.create({ label: "bytes" });
      await assert.rejects(r.dashboards.widgets.create(other, { label: "big", type: "note", display: { text: "x".repeat(4000) } }), rejectsWith(/maxWidgetBytes/));
    } finally {
      await small.close();
    }
  });

  test("dashboards per account follow the plan", async () => {
    const small = await startSluice({ plans: { tiny: { dashboards: 1 } }, defaultPlan: "tiny" });
    try {
      const r = connect(small.adminToken, small.api);
      await r.dashboards.create({ label: "one" });
      await assert.rejects(r.dashboards.create({ label: "two" }), rejectsWith(/plan's 1 dashboards/));
    } finally {
      await small.close();
    }
  });
});

describe("another account", () => {
  test("cannot read, edit, delete, duplicate or share a dashboard, nor its widgets", async () => {
    const { dashboard } = await resources.dashboards.create({ label: "private" });
    const { widget } = await resources.dashboards.widgets.create(dashboard, { label: "w", type: "note", display: {} });
    const otherAccount = await sluice.account();
    const { token } = await sluice.server.identity.issueAccountToken(otherAccount, { name: "t" });
    const other = connect(token);
    const notFound = rejectsWith(/not found/);
    await assert.rejects(other.dashboards.info(dashboard), notFound);
    await assert.rejects(other.dashboards.edit(dashboard, { label: "mine" }), notFound);
    await assert.rejects(other.dashboards.delete(dashboard), notFound);
    await assert.rejects(other.dashboards.duplicate(dashboard), notFound);
    await assert.rejects(other.dashboards.getPublicKey(dashboard), notFound);
    await assert.rejects(other.dashboards.widgets.info(dashboard, widget), notFound);
    await assert.rejects(other.dashboards.widgets.edit(dashboard, widget, { label: "x" }), notFound);
    await assert.rejects(other.dashboards.widgets.delete(dashboard, widget), notFound);
    await assert.rejects(other.dashboards.widgets.create(dashboard, { label: "x", type: "note", display: {} }), notFound);
    await assert.rejects(other.dashboards.widgets.getData(dashboard, widget), notFound);
    assert.deepEqual(await other.dashboards.list(), []);
    assert.equal((await resources.dashboards.info(dashboard)).label, "private");
  });
});
