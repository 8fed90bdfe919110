import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Limits } from "../../src/limits/limits.js";
import { resolvePlans } from "../../src/limits/plans.js";
import { backends, type BackendHandle, type TestStore } from "../helpers/backends.js";

// The monthly usage counters' store, run once per backend (test/helpers/backends.ts), and Limits
// on it. Stored counters are sums of deltas: several writers (nodes sharing PostgreSQL) add to
// them, none overwrites another's counting.

const NOW = Date.UTC(2026, 10, 15, 12, 0, 0); // November 2026

for (const h0 of backends()) {
  describe(`usage counters on ${h0.name}`, () => {
    let h: BackendHandle;
    let store: TestStore;
    let n = 0;

    before(async () => {
      h = await h0.start();
      store = await h.store();
    });
    after(async () => {
      await h.stop();
    });

    async function account(): Promise<string> {
      const id = `acc${++n}`;
      await store.identity.insertAccount({ id, name: "Acme", createdAt: new Date(NOW), plan: null, admin: false });
      return id;
    }

    test("add adds deltas to what is stored; loadPeriod reads one month of every account", async () => {
      const a = await account();
      const b = await account();
      await store.usage.add([
        { accountId: a, period: "2026-11", metric: "records", delta: 5 },
        { accountId: a, period: "2026-11", metric: "emails", delta: 1 },
        { accountId: b, period: "2026-11", metric: "records", delta: 2 },
        { accountId: a, period: "2026-10", metric: "records", delta: 100 },
      ]);
      await store.usage.add([{ accountId: a, period: "2026-11", metric: "records", delta: 7 }]);
      await store.usage.add([]);
      const november = await store.usage.loadPeriod("2026-11");
      assert.deepEqual(november.get(a), new Map([["records", 12], ["emails", 1]]));
      assert.deepEqual(november.get(b), new Map([["records", 2]]));
      assert.deepEqual((await store.usage.loadPeriod("2026-10")).get(a), new Map([["records", 100]]));
      assert.equal((await store.usage.loadPeriod("2026-12")).size, 0);
    });

    test("an account that does not exist (deleted meanwhile) has nothing counted; the others' deltas land", async () => {
      const a = await account();
      await store.usage.add([
        { accountId: "gone", period: "2026-11", metric: "records", delta: 5 },
        { accountId: a, period: "2026-11", metric: "records", delta: 3 },
      ]);
      const november = await store.usage.loadPeriod("2026-11");
      assert.equal(november.get("gone"), undefined);
      assert.deepEqual(november.get(a), new Map([["records", 3]]));
    });

    test("two repositories (on PostgreSQL: two pools, as two nodes) adding to the same counters at once: the total is the sum", async () => {
      const accounts = [await account(), await account(), await account()];
      const second = await h.store();
      const writers = [store.usage, second.usage];
      const rounds = 30;
      // Each flush holds every account's counters, in an order of its own, as two nodes' would.
      await Promise.all(Array.from({ length: rounds }, (_, i) => {
        const order = i % 2 === 0 ? accounts : [...accounts].reverse();
        return writers[i % 2]!.add(order.flatMap((accountId) => [
          { accountId, period: "2026-11", metric: "records", delta: accounts.indexOf(accountId) + 1 },
          { accountId, period: "2026-11", metric: "emails", delta: 1 },
        ]));
      }));
      const november = await store.usage.loadPeriod("2026-11");
      accounts.forEach((a, k) => assert.deepEqual(november.get(a), new Map([["records", rounds * (k + 1)], ["emails", rounds]]), a));
    });

    test("Limits: counts start from what was stored this month, flush deltas, and two nodes' counting adds up", async () => {
      const a = await account();
      await store.usage.add([{ accountId: a, period: "2026-11", metric: "records", delta: 40 }]);
      const second = await h.store();
      const plans = resolvePlans({ p: { recordsPerMonth: 100 } });
      const nodes = [store, second].map((s) => new Limits({ plans, defaultPlan: "p", usage: s.usage, now: () => NOW, flushIntervalMs: 60_000 }));
      for (const limits of nodes) await limits.load();
      for (const limits of nodes) assert.equal(limits.monthly(a, "records"), 40);
      assert.equal(nodes[0]!.admitRecords(a, 25), undefined);
      assert.equal(nodes[1]!.admitRecords(a, 30), undefined);
      await Promise.all(nodes.map((limits) => limits.flush()));
      assert.equal(nodes[0]!.admitRecords(a, 5), undefined);
      await Promise.all(nodes.map((limits) => limits.stop()));
      assert.deepEqual((await store.usage.loadPeriod("2026-11")).get(a), new Map([["records", 100]]));

      // A node started now reads the sum, and the plan's quota holds there.
      const restarted = new Limits({ plans, defaultPlan: "p", usage: store.usage, now: () => NOW });
      await restarted.load();
      assert.equal(restarted.monthly(a, "records"), 100);
      assert.equal(restarted.admitRecords(a, 1)?.limit, "recordsPerMonth");
      await restarted.stop();
    });
  });
}
