import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { defaultConfig } from "../../src/config/schema.js";
import { DashboardService } from "../../src/dashboards/service.js";
import { ChartWarmer } from "../../src/dashboards/warm_charts.js";
import { SqliteBucketStore } from "../../src/data/sqlite/bucket_store.js";
import { EventHub } from "../../src/events/hub.js";
import { IdentityService } from "../../src/identity/service.js";
import { backends } from "../helpers/backends.js";

// A chart opens fast: saving a widget (or opening its dashboard) has the hours of its variables
// over the last year summarized in the background, so its first downsample reads no record
// of a whole hour. The dashboards (and the identity) come from each store backend; the summaries
// are the SQLite bucket store's.
const HOUR = 3_600_000;

for (const h0 of backends()) describe(`ChartWarmer, dashboards on ${h0.name}`, () => {
  test("a saved chart's device variables are summarized before anyone asks; slots and other variables are not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-warm-"));
    const h = await h0.start();
    const store = await h.store();
    const buckets = SqliteBucketStore.open(join(dir, "data.db"), { retentionSweepMs: 0, writerThread: false });
    const identity = new IdentityService(store.identity);
    const { accountId } = await identity.createAccount("a");
    const hub = new EventHub();
    const dashboards = new DashboardService({ repo: store.dashboards, limits: defaultConfig.dashboards });
    const prepared: string[] = [];
    const prepare = buckets.prepareDownsample.bind(buckets);
    buckets.prepareDownsample = (device, variables, from, to) => {
      prepared.push(`${device}:${variables.join(",")}:${Math.round((to.getTime() - from.getTime()) / HOUR)}h`);
      prepare(device, variables, from, to);
    };
    // "dev1" is a bucket only, not a device of the identity store: owned for this test.
    const warmer = new ChartWarmer({ dashboards, buckets, hub, horizonMs: 48 * HOUR, owns: async () => true, onError: (err) => assert.fail(String(err)) });
    try {
      const now = Date.now();
      const records = Array.from({ length: 480 }, (_, i) => ({
        variable: i % 2 ? "temperature" : "humidity", value: i, unit: null, time: new Date(now - 47 * HOUR + i * 6 * 60_000), group: "g", location: null, metadata: null,
      }));
      await buckets.insert("dev1", records);
      const dashboard = await dashboards.create(accountId, { label: "boiler", type: "blueprint", blueprint_devices: [{ id: "slot", name: "s", conditions: [{ key: "k", value: "v" }] }] });
      await dashboards.createWidget(accountId, dashboard.id, { label: "t", type: "line", display: {}, data: [{ origin: "dev1", variables: ["temperature"] }, { origin: "slot", variables: ["x"] }] });
      await dashboards.createWidget(accountId, dashboard.id, { label: "n", type: "note", display: {}, data: [] });
      // A chart with dates of its own is prepared over them.
      const from = new Date(Math.floor((now - 20 * HOUR) / HOUR) * HOUR);
      await dashboards.createWidget(accountId, dashboard.id, { label: "h", type: "line", display: {}, data: [{ origin: "dev1", variables: ["humidity"], start_date: from.toISOString(), end_date: new Date(from.getTime() + 10 * HOUR).toISOString() }] });
      // Saves within a second are one preparation.
      await delay(1_300);
      assert.deepEqual(prepared, ["dev1:temperature:48h", "dev1:humidity:10h"]);
      await buckets.summariesDone();

      // The first query of the chart's range reads no whole hour's records.
      const queries = (buckets as unknown as { queries: { downsampleStep: (...args: unknown[]) => unknown } }).queries;
      const step = queries.downsampleStep.bind(queries);
      let reads = 0;
      queries.downsampleStep = (...args: unknown[]) => {
        reads++;
        return step(...args);
      };
      const start = Math.ceil((now - 46 * HOUR) / HOUR) * HOUR;
      const { parseDataQuery } = await import("../../src/data/query.js");
      const query = parseDataQuery({ query: "downsample", variables: "temperature", buckets: "4", start_date: new Date(start).toISOString(), end_date: new Date(start + 40 * HOUR - 1).toISOString() }, new Date());
      const result = await buckets.query("dev1", query);
      assert.equal(result.type, "series");
      assert.equal(reads, 0, "whole hours came from the summaries");

      // Opening the dashboard (its live channel's first listener) prepares it again.
      prepared.length = 0;
      const off = hub.subscribe(accountId, [`dashboard.${dashboard.id}`], () => {});
      await delay(1_300);
      off();
      assert.deepEqual(prepared, ["dev1:temperature:48h", "dev1:humidity:10h"]);
    } finally {
      warmer.close();
      await buckets.close();
      identity.stop();
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a widget naming another account's device has nothing of that device prepared (review 13)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-warm-"));
    const h = await h0.start();
    const store = await h.store();
    const buckets = SqliteBucketStore.open(join(dir, "data.db"), { retentionSweepMs: 0, writerThread: false });
    const identity = new IdentityService(store.identity);
    const hub = new EventHub();
    const dashboards = new DashboardService({ repo: store.dashboards, limits: defaultConfig.dashboards });
    const prepared: string[] = [];
    const prepare = buckets.prepareDownsample.bind(buckets);
    buckets.prepareDownsample = (device, variables, from, to) => {
      prepared.push(device);
      prepare(device, variables, from, to);
    };
    const warmer = new ChartWarmer({
      dashboards, buckets, hub, horizonMs: 48 * HOUR, onError: (err) => assert.fail(String(err)),
      owns: (accountId, deviceId) => identity.getDevice(accountId, deviceId).then(() => true, () => false),
    });
    try {
      const a = await identity.createAccount("a");
      const b = await identity.createAccount("b");
      const { device: victim } = await identity.createDevice(a.accountId, { name: "victim" });
      const { device: own } = await identity.createDevice(b.accountId, { name: "own" });
      const dashboard = await dashboards.create(b.accountId, { label: "greedy" });
      await dashboards.createWidget(b.accountId, dashboard.id, { label: "t", type: "line", display: {}, data: [{ origin: victim.id, variables: ["temperature"] }, { origin: own.id, variables: ["temperature"] }] });
      await delay(1_300);
      assert.deepEqual(prepared, [own.id]);
    } finally {
      warmer.close();
      await buckets.close();
      identity.stop();
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
