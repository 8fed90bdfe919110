import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadConfig } from "../../src/config/load.js";
import { FlappingGuard } from "../../src/limits/flapping.js";
import { Limits, type UsageChange } from "../../src/limits/limits.js";
import { BUILTIN_PLANS, resolvePlans } from "../../src/limits/plans.js";
import { TokenBucket } from "../../src/limits/token_bucket.js";

// The pieces plans are enforced with: token buckets, the plan table from the config, the
// flapping guard, and the in-memory account limits with their monthly counters.

describe("TokenBucket", () => {
  test("allows a burst of its capacity, then the steady rate", () => {
    const bucket = new TokenBucket(60, 60_000, 0);
    for (let i = 0; i < 60; i++) assert.equal(bucket.take(0), true);
    assert.equal(bucket.take(0), false);
    assert.equal(bucket.waitMs(0), 1000);
    assert.equal(bucket.take(999), false);
    assert.equal(bucket.take(1000), true);
    assert.equal(bucket.take(1000), false);
    assert.equal(bucket.used(61_000), 0, "a full period refills it");
  });

  test("a take of several tokens is all or nothing", () => {
    const bucket = new TokenBucket(10, 1000, 0);
    assert.equal(bucket.take(0, 7), true);
    assert.equal(bucket.take(0, 4), false);
    assert.equal(bucket.take(0, 3), true);
  });
});

describe("plans from the config", () => {
  test("ships free, starter, scale and unlimited; free follows TagoIO's published rates", () => {
    const plans = resolvePlans();
    assert.deepEqual([...plans.keys()].sort(), ["free", "scale", "starter", "unlimited"]);
    assert.equal(plans.get("free")!.publishesPerMinute, 250);
    assert.equal(plans.get("starter")!.connections, 100);
    assert.equal(plans.get("scale")!.http.aggregate, 100);
    assert.equal(plans.get("unlimited")!.devices, Infinity);
  });

  test("a custom plan extends another; null lifts a limit; a built-in can be overridden", () => {
    const plans = resolvePlans({
      gold: { extends: "starter", devices: 2000, http: { data: null } },
      free: { devices: 3 },
    });
    const gold = plans.get("gold")!;
    assert.equal(gold.devices, 2000);
    assert.equal(gold.connections, BUILTIN_PLANS.starter!.connections);
    assert.equal(gold.http.data, Infinity);
    assert.equal(gold.http.dataEdits, BUILTIN_PLANS.starter!.http.dataEdits);
    assert.equal(plans.get("free")!.devices, 3);
    assert.equal(plans.get("free")!.publishesPerMinute, 250);
  });

  test("a plan without extends starts unlimited; mistakes are named", () => {
    assert.equal(resolvePlans({ lab: { devices: 5 } }).get("lab")!.connections, Infinity);
    assert.throws(() => resolvePlans({ x: { extends: "nope" } }), /plan "nope" is not defined/);
    assert.throws(() => resolvePlans({ a: { extends: "b" }, b: { extends: "a" } }), /extends itself/);
    assert.throws(() => resolvePlans({ x: { devicez: 1 } as never }), /plans\.x\.devicez is not a plan setting/);
    assert.throws(() => resolvePlans({ x: { devices: -1 } }), /plans\.x\.devices must be a number/);
  });

  test("the config file and environment choose plans and the default plan", () => {
    assert.equal(loadConfig({ env: {} }).defaultPlan, "unlimited");
    assert.equal(loadConfig({ env: { SLUICE_DEFAULT_PLAN: "free" } }).defaultPlan, "free");
    assert.throws(() => loadConfig({ env: { SLUICE_DEFAULT_PLAN: "platinum" } }), /defaultPlan "platinum" is not a defined plan/);
  });
});

describe("FlappingGuard", () => {
  test("refuses a key that connects too often in the window, for the block time, then forgets", () => {
    let now = 0;
    const guard = new FlappingGuard(() => now);
    const rule = { connects: 3, windowSeconds: 10, blockSeconds: 30 };
    for (let i = 0; i < 3; i++) assert.equal(guard.attempt("d1", rule), 0);
    assert.equal(guard.attempt("d2", rule), 0, "another device is not affected");
    assert.equal(guard.attempt("d1", rule), 30_000);
    now = 29_000;
    assert.equal(guard.attempt("d1", rule), 1000, "knocking while blocked does not extend the block");
    now = 30_000;
    assert.equal(guard.attempt("d1", rule), 0);
    guard.stop();
  });

  test("attempts spread wider than the window never block", () => {
    let now = 0;
    const guard = new FlappingGuard(() => now);
    for (let i = 0; i < 20; i++, now += 4000) assert.equal(guard.attempt("d", { connects: 3, windowSeconds: 10, blockSeconds: 30 }), 0);
    guard.stop();
  });
});

describe("Limits", () => {
  function limitsWith(plan: Record<string, unknown>, saved = new Map<string, number>()) {
    let now = Date.UTC(2026, 10, 30, 23, 59, 0);
    const changes: UsageChange[] = [];
    const rows: { metric: string; period: string; delta: number }[] = [];
    let failing = false;
    const limits = new Limits({
      plans: resolvePlans({ p: plan }),
      defaultPlan: "p",
      // What the repository saved is November's, for account "a".
      usage: {
        loadPeriod: async (period) => new Map(period === "2026-11" ? [["a", new Map(saved)]] : []),
        add: async (r) => {
          if (failing) throw new Error("the database is away");
          rows.push(...r);
        },
      },
      onUsage: (c) => changes.push(c),
      now: () => now,
    });
    return { limits, changes, rows, tick: (ms: number) => (now += ms), fail: (on: boolean) => (failing = on) };
  }

  test("records: the per-minute rate refuses with a retry time; a batch larger than a minute's allowance is refused for good", () => {
    const { limits } = limitsWith({ recordsPerMinute: 10 });
    assert.equal(limits.admitRecords("a", 6), undefined);
    const refused = limits.admitRecords("a", 6)!;
    assert.equal(refused.limit, "recordsPerMinute");
    assert.ok(refused.retryAfterMs! > 0 && refused.retryAfterMs! <= 60_000);
    const never = limits.admitRecords("a", 11)!;
    assert.equal(never.retryAfterMs, undefined);
    assert.equal(limits.admitRecords("b", 10), undefined, "accounts are separate");
  });

  test("monthly quotas count from what the repository saved, flush deltas, and restart with the month", async () => {
    const { limits, rows, changes, tick } = limitsWith({ recordsPerMonth: 100 }, new Map([["records", 95]]));
    await limits.load();
    assert.equal(limits.admitRecords("a", 5), undefined);
    assert.equal(limits.admitRecords("a", 1)!.limit, "recordsPerMonth");
    assert.deepEqual(changes.map((c) => [c.before, c.after, c.limit]), [[95, 100, 100]]);
    assert.equal(limits.monthly("b", "records"), 0, "an account the repository has nothing for starts at zero");
    await limits.flush();
    assert.deepEqual(rows, [{ accountId: "a", period: "2026-11", metric: "records", delta: 5 }]);
    tick(60_000); // December: a new month starts from zero, and its deltas are December's
    assert.equal(limits.monthly("a", "records"), 0);
    assert.equal(limits.admitRecords("a", 7), undefined);
    await limits.stop();
    assert.deepEqual(rows.slice(1), [{ accountId: "a", period: "2026-12", metric: "records", delta: 7 }]);
  });

  test("a failed write keeps its deltas for the next flush; a new plan keeps the month's counts", async () => {
    const { limits, rows, fail } = limitsWith({ recordsPerMonth: 100 }, new Map([["records", 10]]));
    await limits.load();
    assert.equal(limits.admitRecords("a", 3), undefined);
    fail(true);
    await limits.flush();
    assert.deepEqual(rows, []);
    assert.equal(limits.admitRecords("a", 2), undefined);
    fail(false);
    limits.assign("a", "p");
    assert.equal(limits.monthly("a", "records"), 15, "counted on, not read back");
    await limits.stop();
    assert.deepEqual(rows, [{ accountId: "a", period: "2026-11", metric: "records", delta: 5 }]);
  });

  test("publishes: payload ceiling and the account's rate", () => {
    const { limits } = limitsWith({ publishesPerMinute: 2, maxPayloadBytes: 10 });
    assert.equal(limits.admitPublish("a", 11)!.limit, "maxPayloadBytes");
    assert.equal(limits.admitPublish("a", 10), undefined);
    assert.equal(limits.admitPublish("a", 1), undefined);
    assert.equal(limits.admitPublish("a", 1)!.limit, "publishesPerMinute");
    limits.stop();
  });
});
