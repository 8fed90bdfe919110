import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AnalysisRow } from "../../src/analysis/model.js";
import { defaultConfig } from "../../src/config/schema.js";
import { validateDashboard, validateWidget, type Dashboard, type Widget } from "../../src/dashboards/model.js";
import { MAX_BODY, type DeadLetter } from "../../src/notify/sqlite/dead_letter_store.js";
import type { NotificationRow } from "../../src/notify/sqlite/notification_store.js";
import { createLogger } from "../../src/observability/logger.js";
import { OutboundGuard } from "../../src/outbound/guard.js";
import { DownlinkQueue } from "../../src/relay/downlink_queue.js";
import { validateRelayInput, type Relay } from "../../src/relay/relay_model.js";
import { RelayService } from "../../src/relay/relay_service.js";
import { RelaySecrets } from "../../src/relay/secrets.js";
import type { AccountRow, DeviceRow } from "../../src/store/types.js";
import { backends, type BackendHandle, type TestStore } from "../helpers/backends.js";

// The platform repositories (analyses, relays, dashboards, notifications, webhook dead letters),
// run once per backend (test/helpers/backends.ts): embedded SQLite and PostgreSQL must answer
// alike, and the bounds that count rows must hold when writers race (several nodes share
// PostgreSQL; SQLite has one writer).

const T = Date.parse("2025-03-01T00:00:00.000Z");
const at = (s: number) => new Date(T + s * 1000);

for (const h0 of backends()) {
  describe(`platform repositories on ${h0.name}`, () => {
    let h: BackendHandle;
    let store: TestStore;
    let n = 0;
    const id = (prefix: string) => `${prefix}${++n}`;

    before(async () => {
      h = await h0.start();
      store = await h.store();
    });
    after(async () => {
      await h.stop();
    });

    async function account(): Promise<AccountRow> {
      const row: AccountRow = { id: id("acc"), name: "Acme", createdAt: at(n), plan: null, admin: false };
      await store.identity.insertAccount(row);
      return row;
    }
    async function device(accountId: string, extra: Partial<DeviceRow> = {}): Promise<DeviceRow> {
      const row: DeviceRow = { id: id("dev"), accountId, name: "sensor", active: true, tags: [], extra: {}, createdAt: at(n), updatedAt: at(n), ...extra };
      await store.identity.insertDevice(row);
      return row;
    }

    describe("analyses", () => {
      function analysis(accountId: string, extra: Partial<AnalysisRow> = {}): AnalysisRow {
        return {
          id: id("an"), accountId, name: "job", description: null, active: true, runOn: "sluice", variables: [{ key: "k", value: "v" }], tags: [],
          token: `tok-${id("t")}-0123456789`, tokenId: id("tid"), fileName: null, module: null, codeVersion: 0, lastRun: null,
          createdAt: at(n), updatedAt: at(n), ...extra,
        };
      }

      test("insert with its token row, get, list by name (ties in insertion order), find by token hash, update", async () => {
        const a = await account();
        const other = await account();
        const b1 = analysis(a.id, { name: "b" });
        const c = analysis(a.id, { name: "c", description: "d", runOn: "external", active: false });
        const b2 = analysis(a.id, { name: "b" });
        const upper = analysis(a.id, { name: "Z" });
        for (const row of [b1, c, b2, upper]) await store.analyses.insert(row, { tokenHash: `hash-${row.id}`, name: `Analysis ${row.name}` });
        assert.deepEqual(await store.analyses.get(a.id, c.id), c);
        assert.equal(await store.analyses.get(other.id, c.id), undefined);
        // Byte order: "Z" sorts before "b".
        assert.deepEqual((await store.analyses.list(a.id)).map((r) => r.id), [upper.id, b1.id, b2.id, c.id]);
        assert.deepEqual(await store.analyses.list(other.id), []);
        assert.deepEqual(await store.analyses.findByTokenHash(`hash-${b2.id}`), b2);
        assert.equal(await store.analyses.findByTokenHash("nope"), undefined);
        const token = await store.identity.findAccountTokenByHash(`hash-${b2.id}`);
        assert.equal(token?.id, b2.tokenId);
        assert.equal(token?.analysisId, b2.id);
        assert.equal(token?.prefix, b2.token.slice(0, 8));

        const changed: AnalysisRow = { ...b1, name: "renamed", description: "x", active: false, variables: [], tags: [{ key: "t", value: "1" }], lastRun: at(99), updatedAt: at(100) };
        await store.analyses.update(changed);
        assert.deepEqual(await store.analyses.get(a.id, b1.id), changed);
        await store.analyses.update({ ...changed, accountId: other.id, name: "not mine" });
        assert.equal((await store.analyses.get(a.id, b1.id))?.name, "renamed");
        await store.analyses.setLastRun(b1.id, at(200));
        assert.deepEqual((await store.analyses.get(a.id, b1.id))?.lastRun, at(200));
      });

      test("code: versions count up per upload; none until the first", async () => {
        const a = await account();
        const row = analysis(a.id);
        await store.analyses.insert(row, { tokenHash: `hash-${row.id}`, name: "x" });
        assert.equal(await store.analyses.code(row.id), undefined);
        assert.equal(await store.analyses.saveCode(a.id, row.id, Buffer.from("one"), "a.js", "cjs"), 1);
        assert.equal(await store.analyses.saveCode(a.id, row.id, Buffer.from("two"), "b.mjs", "esm"), 2);
        assert.equal(await store.analyses.saveCode((await account()).id, row.id, Buffer.from("x"), "c.js", "cjs"), 0);
        assert.deepEqual(await store.analyses.code(row.id), { code: Buffer.from("two"), version: 2 });
        const got = await store.analyses.get(a.id, row.id);
        assert.equal(got?.fileName, "b.mjs");
        assert.equal(got?.module, "esm");
        assert.equal(got?.codeVersion, 2);
      });

      test("replace the token, delete: the token rows go with them", async () => {
        const a = await account();
        const row = analysis(a.id);
        await store.analyses.insert(row, { tokenHash: `hash-${row.id}`, name: "x" });
        assert.equal(await store.analyses.replaceToken(a.id, "nope", "t", "t2", { tokenHash: "h2", name: "x" }), undefined);
        assert.equal(await store.analyses.replaceToken(a.id, row.id, "newtoken-123456", "tid-new", { tokenHash: "hash-new", name: "x" }), row.tokenId);
        assert.equal(await store.identity.findAccountTokenByHash(`hash-${row.id}`), undefined);
        assert.equal((await store.analyses.findByTokenHash("hash-new"))?.token, "newtoken-123456");
        assert.equal((await store.analyses.get(a.id, row.id))?.tokenId, "tid-new");
        assert.equal(await store.analyses.delete((await account()).id, row.id), undefined);
        assert.equal(await store.analyses.delete(a.id, row.id), "tid-new");
        assert.equal(await store.identity.findAccountTokenByHash("hash-new"), undefined);
        assert.equal(await store.analyses.get(a.id, row.id), undefined);
        assert.equal(await store.analyses.delete(a.id, row.id), undefined);
      });

      test("two token replacements at once: each replaces one token, one token row is left", async () => {
        const a = await account();
        const row = analysis(a.id);
        await store.analyses.insert(row, { tokenHash: `hash-${row.id}`, name: "x" });
        const olds = await Promise.all(["r1", "r2", "r3"].map((r) => store.analyses.replaceToken(a.id, row.id, `token-${r}-123`, `${row.id}-${r}`, { tokenHash: `${row.id}-h-${r}`, name: "x" })));
        const now = await store.analyses.get(a.id, row.id);
        // The replacements ran one after another: together they replaced the first and each other's tokens.
        assert.equal(new Set(olds).size, 3);
        assert.ok(olds.includes(row.tokenId));
        assert.ok(!olds.includes(now!.tokenId));
        const tokens = (await store.identity.listAccountTokens(a.id)).filter((t) => t.analysisId === row.id);
        assert.deepEqual(tokens.map((t) => t.id), [now!.tokenId]);
      });
    });

    describe("notifications", () => {
      function notification(accountId: string, extra: Partial<NotificationRow> = {}): NotificationRow {
        return { id: id("n"), accountId, title: "t", message: "m", read: false, extra: {}, createdAt: at(n), ...extra };
      }

      test("unread first, then newest; get, read marks, delete, each only the account's", async () => {
        const a = await account();
        const other = await account();
        const one = notification(a.id, { title: "one" });
        const two = notification(a.id, { title: "two", extra: { icon: { svg_url: "x" }, buttons: [{ label: "b" }], buttons_enabled: true } });
        const three = notification(a.id, { title: "three", read: true });
        const four = notification(a.id, { title: "four" });
        for (const row of [one, two, three, four]) assert.equal(await store.notifications.insert(row, 10), 0);
        const theirs = notification(other.id);
        await store.notifications.insert(theirs, 10);
        assert.deepEqual((await store.notifications.list(a.id)).map((r) => r.title), ["four", "two", "one", "three"]);
        assert.deepEqual(await store.notifications.get(a.id, two.id), two);
        assert.equal(await store.notifications.get(a.id, theirs.id), undefined);

        assert.equal(await store.notifications.setRead(a.id, [one.id, four.id, four.id, "nope", theirs.id], true), 2);
        assert.equal(await store.notifications.setRead(a.id, [], true), 0);
        assert.deepEqual((await store.notifications.list(a.id)).map((r) => [r.title, r.read]), [["two", false], ["four", true], ["three", true], ["one", true]]);
        assert.equal(await store.notifications.setRead(a.id, [one.id], false), 1);
        assert.equal(await store.notifications.markAllRead(a.id), 2);
        assert.equal(await store.notifications.markAllRead(a.id), 0);
        assert.equal((await store.notifications.get(other.id, theirs.id))?.read, false);
        assert.equal(await store.notifications.delete(a.id, theirs.id), false);
        assert.equal(await store.notifications.delete(a.id, two.id), true);
        assert.equal(await store.notifications.delete(a.id, two.id), false);
        assert.deepEqual((await store.notifications.list(a.id)).map((r) => r.title), ["four", "three", "one"]);
      });

      test("the newest `keep` are kept: insert tells how many went", async () => {
        const a = await account();
        const rows = Array.from({ length: 5 }, (_, i) => notification(a.id, { title: `n${i}` }));
        const dropped: number[] = [];
        for (const row of rows) dropped.push(await store.notifications.insert(row, 3));
        assert.deepEqual(dropped, [0, 0, 0, 1, 1]);
        assert.deepEqual((await store.notifications.list(a.id)).map((r) => r.title), ["n4", "n3", "n2"]);
        // A smaller bound drops the surplus at the next insert.
        assert.equal(await store.notifications.insert(notification(a.id, { title: "n5" }), 1), 3);
        assert.deepEqual((await store.notifications.list(a.id)).map((r) => r.title), ["n5"]);
      });

      test("inserts racing for one account never leave it past its bound", async () => {
        const a = await account();
        const other = await account();
        const keep = 4;
        const writers = 24;
        const dropped = await Promise.all(Array.from({ length: writers }, (_, i) => store.notifications.insert(notification(i % 3 === 0 ? other.id : a.id, { title: `r${i}` }), keep)));
        const mine = await store.notifications.list(a.id);
        const theirs = await store.notifications.list(other.id);
        assert.equal(mine.length, keep);
        assert.equal(theirs.length, keep);
        // Every row inserted is either kept or counted once as dropped.
        assert.equal(dropped.reduce((s, d) => s + d, 0), writers - 2 * keep);
      });
    });

    describe("webhook dead letters", () => {
      function letter(accountId: string, actionId: string, extra: Partial<DeadLetter> = {}): DeadLetter {
        return {
          id: id("dl"), accountId, actionId, deviceId: null, url: "https://example.com/hook", status: 500, attempts: 3, error: "HTTP 500",
          body: '{"a":1}', firstAttemptAt: at(n), failedAt: at(n + 1), ...extra,
        };
      }

      test("per action, newest first, paged; clear and remove only the account's", async () => {
        const a = await account();
        const other = await account();
        const rows = Array.from({ length: 5 }, (_, i) => letter(a.id, "act1", { deviceId: i === 0 ? "dev" : null, status: i === 1 ? null : 502 }));
        for (const r of rows) await store.deadLetters.insert(r, 100);
        const elsewhere = letter(a.id, "act2");
        await store.deadLetters.insert(elsewhere, 100);
        await store.deadLetters.insert(letter(other.id, "act1"), 100);
        assert.deepEqual(await store.deadLetters.list(a.id, "act1", 10, 0), [...rows].reverse());
        assert.deepEqual((await store.deadLetters.list(a.id, "act1", 2, 1)).map((d) => d.id), [rows[3]!.id, rows[2]!.id]);
        assert.deepEqual(await store.deadLetters.list(a.id, "act1", 2, 10), []);
        assert.equal(await store.deadLetters.remove(other.id, "act1", rows[0]!.id), false);
        assert.equal(await store.deadLetters.remove(a.id, "act2", rows[0]!.id), false);
        assert.equal(await store.deadLetters.remove(a.id, "act1", rows[0]!.id), true);
        assert.equal(await store.deadLetters.clear(a.id, "act1"), 4);
        assert.equal(await store.deadLetters.clear(a.id, "act1"), 0);
        assert.deepEqual(await store.deadLetters.list(a.id, "act2", 10, 0), [elsewhere]);
        assert.equal((await store.deadLetters.list(other.id, "act1", 10, 0)).length, 1);
      });

      test("a long body is kept cut and marked; the account's bound counts every action", async () => {
        const a = await account();
        const long = letter(a.id, "act1", { body: "x".repeat(MAX_BODY + 10) });
        await store.deadLetters.insert(long, 3);
        assert.equal((await store.deadLetters.list(a.id, "act1", 1, 0))[0]!.body, `${"x".repeat(MAX_BODY)}…`);
        for (const action of ["act2", "act1", "act2"]) await store.deadLetters.insert(letter(a.id, action), 3);
        assert.equal((await store.deadLetters.list(a.id, "act1", 10, 0)).length, 1);
        assert.equal((await store.deadLetters.list(a.id, "act2", 10, 0)).length, 2);
      });

      test("inserts racing for one account never leave it past its bound", async () => {
        const a = await account();
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.deadLetters.insert(letter(a.id, i % 2 ? "x" : "y"), 5)));
        const kept = (await store.deadLetters.list(a.id, "x", 100, 0)).length + (await store.deadLetters.list(a.id, "y", 100, 0)).length;
        assert.equal(kept, 5);
      });
    });

    describe("relays", () => {
      function relay(accountId: string, extra: Partial<Relay> = {}): Relay {
        const rid = id("relay");
        const { settings } = validateRelayInput({ name: rid, host: "broker.example", subscriptions: ["a/#"], mapping: { source: "topic" } }, undefined, rid);
        return { id: rid, accountId, settings, secrets: { password: "sealed" }, createdAt: at(n), updatedAt: at(n), ...extra };
      }

      test("put inserts or replaces settings; all oldest first (ties in insertion order); delete only the account's", async () => {
        const a = await account();
        const other = await account();
        const before = (await store.relays.all()).length;
        const r1 = relay(a.id, { createdAt: at(1000) });
        const r2 = relay(a.id, { createdAt: at(999) });
        const r3 = relay(other.id, { createdAt: at(1000) });
        for (const r of [r1, r2, r3]) await store.relays.put(r);
        const listed = (await store.relays.all()).slice(before);
        assert.deepEqual(listed, [r2, r1, r3]);
        const edited: Relay = { ...r1, settings: { ...r1.settings, name: "edited" }, secrets: {}, createdAt: at(5), updatedAt: at(2000) };
        await store.relays.put(edited);
        // createdAt is the first put's.
        assert.deepEqual((await store.relays.all()).find((r) => r.id === r1.id), { ...edited, createdAt: r1.createdAt });
        assert.equal(await store.relays.delete(other.id, r1.id), false);
        assert.equal(await store.relays.delete(a.id, r1.id), true);
        assert.equal(await store.relays.delete(a.id, r1.id), false);
        assert.deepEqual((await store.relays.all()).slice(before).map((r) => r.id), [r2.id, r3.id]);
      });

      test("the downlink queue: seqs grow, peek after a seq, remove, count; deleting the relay empties it", async () => {
        const a = await account();
        const r = relay(a.id);
        const s = relay(a.id);
        await store.relays.put(r);
        await store.relays.put(s);
        const seqs: number[] = [];
        for (let i = 0; i < 4; i++) seqs.push(await store.relays.enqueue(r.id, { topic: `t/${i}`, payload: Buffer.from([i, 255]), qos: i % 2 ? 1 : 2, retain: i === 3 }));
        await store.relays.enqueue(s.id, { topic: "other", payload: Buffer.from("x"), qos: 1, retain: false });
        for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!);
        assert.equal(await store.relays.queued(r.id), 4);
        assert.deepEqual(await store.relays.peek(r.id, 0, 2), [
          { seq: seqs[0], topic: "t/0", payload: Buffer.from([0, 255]), qos: 2, retain: false },
          { seq: seqs[1], topic: "t/1", payload: Buffer.from([1, 255]), qos: 1, retain: false },
        ]);
        assert.deepEqual((await store.relays.peek(r.id, seqs[1]!, 10)).map((m) => [m.topic, m.retain]), [["t/2", false], ["t/3", true]]);
        await store.relays.remove(seqs[0]!);
        assert.equal(await store.relays.queued(r.id), 3);
        assert.equal(await store.relays.delete(a.id, r.id), true);
        assert.equal(await store.relays.queued(r.id), 0);
        assert.equal(await store.relays.queued(s.id), 1);
      });

      test("device lookups: by serial (the oldest token), by tag (the oldest device), by id, a device's serial; only the account's", async () => {
        const a = await account();
        const other = await account();
        const d1 = await device(a.id, { tags: [{ key: "site", value: "north" }], createdAt: at(10) });
        const d2 = await device(a.id, { tags: [{ key: "site", value: "north" }, { key: "n", value: "2" }], createdAt: at(5) });
        const d3 = await device(other.id, { tags: [{ key: "site", value: "south" }] });
        const token = (deviceId: string, accountId: string, serial: string | null, s: number) => store.identity.insertDeviceToken({
          id: id("dt"), deviceId, accountId, tokenHash: id("h"), prefix: "abcd", name: "t", permission: "full", createdAt: at(s), expiresAt: null,
          serieNumber: serial, lastAuthorization: null, mintedBy: null,
        });
        await token(d1.id, a.id, "SN-1", 20);
        await token(d2.id, a.id, "SN-1", 30);
        await token(d2.id, a.id, null, 1);
        await token(d2.id, a.id, "SN-2", 40);
        await token(d3.id, other.id, "SN-3", 1);
        assert.equal(await store.relays.deviceBySerial(a.id, "SN-1"), d1.id);
        assert.equal(await store.relays.deviceBySerial(a.id, "SN-3"), undefined);
        assert.equal(await store.relays.deviceBySerial(other.id, "SN-3"), d3.id);
        assert.equal(await store.relays.deviceByTag(a.id, "site", "north"), d2.id);
        assert.equal(await store.relays.deviceByTag(a.id, "n", "2"), d2.id);
        assert.equal(await store.relays.deviceByTag(a.id, "site", "south"), undefined);
        assert.equal(await store.relays.deviceByTag(a.id, "north", "site"), undefined);
        assert.equal(await store.relays.deviceById(a.id, d1.id), d1.id);
        assert.equal(await store.relays.deviceById(a.id, d3.id), undefined);
        assert.equal(await store.relays.serialOf(d2.id), "SN-1");
        assert.equal(await store.relays.serialOf(d3.id), "SN-3");
        assert.equal(await store.relays.serialOf("nope"), undefined);
      });

      test("DownlinkQueue: pushes made at once are stored and handed out in call order, bounded, a window at a time", async () => {
        const a = await account();
        const r = relay(a.id);
        await store.relays.put(r);
        const queue = await DownlinkQueue.open(store.relays, r.id, 30);
        const message = (i: number) => ({ topic: `q/${i}`, payload: Buffer.from(String(i)), qos: 1 as const, retain: false });
        // Not awaited one by one: the calls overlap, as downlinks of several publishes do.
        const pushed = await Promise.all(Array.from({ length: 35 }, (_, i) => queue.push(message(i))));
        assert.deepEqual(pushed, Array.from({ length: 35 }, (_, i) => i < 30));
        assert.equal(queue.length, 30);
        const first = await queue.take(8);
        assert.deepEqual(first.map((m) => m.topic), Array.from({ length: 8 }, (_, i) => `q/${i}`));
        assert.deepEqual(await queue.take(8), []); // the window is full
        await Promise.all([queue.done(first[0]!.seq), queue.done(first[1]!.seq), queue.done(first[1]!.seq)]);
        assert.equal(queue.length, 28);
        assert.deepEqual((await queue.take(8)).map((m) => m.topic), ["q/8", "q/9"]);
        queue.rewind();
        assert.deepEqual((await queue.take(3)).map((m) => m.topic), ["q/2", "q/3", "q/4"]);
        // As after a restart: the stored queue, without what was acknowledged.
        const again = await DownlinkQueue.open(store.relays, r.id, 30);
        assert.equal(again.length, 28);
        assert.equal(await store.relays.queued(r.id), 28);
      });

      test("RelayService: creates racing past the plan's relay count make exactly that many; a restart loads them", async () => {
        const a = await account();
        const service = () => new RelayService({
          repo: store.relays, secrets: RelaySecrets.fromKey(Buffer.alloc(32, 7)), ingest: async () => undefined, route: () => undefined,
          device: async () => undefined, inspector: { wants: () => false, watching: () => false, record: () => undefined },
          logger: createLogger("silent"), guard: new OutboundGuard({ allowPrivateTargets: true }),
          admitRelay: (_accountId, existing) => {
            if (existing >= 2) throw new Error("the plan's 2 relays exist already");
          },
        });
        const first = service();
        // Inactive: nothing connects.
        const input = (i: number) => ({ name: `r${i}`, active: false, host: "broker.example", subscriptions: ["a/#"], mapping: { source: "topic" } });
        const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => first.create(a.id, input(i))));
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 2);
        const made = first.list(a.id).map((r) => r.id).sort();
        assert.equal(made.length, 2);
        await first.stop();
        const second = service();
        await second.start();
        assert.deepEqual(second.list(a.id).map((r) => r.id).sort(), made);
        await second.stop();
      });
    });

    describe("dashboards", () => {
      const bounds = defaultConfig.dashboards;
      function dashboard(accountId: string, label: string, extra: Partial<Dashboard> = {}): Dashboard {
        const fields = validateDashboard({ label, tags: [{ key: "k", value: "v" }], icon: { url: "i" } }, "body", bounds);
        return { ...fields, id: id("dash"), accountId, createdAt: at(n), updatedAt: at(n), ...extra };
      }
      function widget(dashboardId: string, label: string, extra: Partial<Widget> = {}): Widget {
        const fields = validateWidget({ label, type: "display", display: { x: 1 }, data: [{ origin: "dev", variables: ["t"] }] }, "body", bounds);
        return { ...fields, id: id("w"), dashboardId, createdAt: at(n), updatedAt: at(n), ...extra };
      }

      test("insert with widgets, list by creation (ties in insertion order), count, get and update only the account's", async () => {
        const a = await account();
        const other = await account();
        const same = at(500);
        const d1 = dashboard(a.id, "one", { createdAt: same });
        const d2 = dashboard(a.id, "two", { createdAt: at(400) });
        const d3 = dashboard(a.id, "three", { createdAt: same });
        const widgets = Array.from({ length: 30 }, (_, i) => widget(d1.id, `w${i}`, { createdAt: same }));
        await store.dashboards.insert(d1, widgets);
        await store.dashboards.insert(d2);
        await store.dashboards.insert(d3);
        assert.deepEqual(await store.dashboards.list(a.id), [d2, d1, d3]);
        assert.equal(await store.dashboards.count(a.id), 3);
        assert.equal(await store.dashboards.count(other.id), 0);
        assert.deepEqual(await store.dashboards.widgets(a.id, d1.id), widgets);
        assert.deepEqual(await store.dashboards.widgets(other.id, d1.id), []);
        assert.equal(await store.dashboards.widgetCount(d1.id), 30);
        assert.deepEqual(await store.dashboards.widget(a.id, d1.id, widgets[3]!.id), widgets[3]);
        assert.equal(await store.dashboards.widget(other.id, d1.id, widgets[3]!.id), undefined);
        assert.equal(await store.dashboards.widget(a.id, d2.id, widgets[3]!.id), undefined);
        assert.equal(await store.dashboards.get(other.id, d1.id), undefined);

        const edited: Dashboard = { ...d2, label: "edited", updatedAt: at(900) };
        assert.equal(await store.dashboards.update(edited), true);
        assert.deepEqual(await store.dashboards.get(a.id, d2.id), edited);
        assert.equal(await store.dashboards.update({ ...edited, accountId: other.id }), false);
        assert.equal(await store.dashboards.delete(other.id, d1.id), false);
        assert.equal(await store.dashboards.delete(a.id, d1.id), true);
        assert.equal(await store.dashboards.widgetCount(d1.id), 0);
        assert.deepEqual((await store.dashboards.list(a.id)).map((d) => d.id), [d2.id, d3.id]);
      });

      test("widgets: insert touches the dashboard, only into the account's; edit, delete with the arrangement saved", async () => {
        const a = await account();
        const other = await account();
        const d = dashboard(a.id, "d", { updatedAt: at(1) });
        await store.dashboards.insert(d);
        const w = widget(d.id, "w", { createdAt: at(50), updatedAt: at(50) });
        assert.equal(await store.dashboards.insertWidget(other.id, w), false);
        assert.equal(await store.dashboards.insertWidget(a.id, { ...w, dashboardId: "nope" }), false);
        assert.equal(await store.dashboards.insertWidget(a.id, w), true);
        assert.deepEqual((await store.dashboards.get(a.id, d.id))?.updatedAt, at(50));
        const w2: Widget = { ...w, label: "changed", updatedAt: at(60) };
        assert.equal(await store.dashboards.updateWidget(w2), true);
        assert.deepEqual(await store.dashboards.widget(a.id, d.id, w.id), w2);
        assert.deepEqual((await store.dashboards.get(a.id, d.id))?.updatedAt, at(60));
        assert.equal(await store.dashboards.updateWidget({ ...w2, id: "nope" }), false);
        const arranged: Dashboard = { ...d, arrangement: [], label: "saved", updatedAt: at(70) };
        assert.equal(await store.dashboards.deleteWidget(arranged, "nope"), false);
        assert.notEqual((await store.dashboards.get(a.id, d.id))?.label, "saved");
        assert.equal(await store.dashboards.deleteWidget(arranged, w.id), true);
        assert.deepEqual(await store.dashboards.get(a.id, d.id), arranged);
        assert.equal(await store.dashboards.widgetCount(d.id), 0);
      });

      test("public links: one per dashboard, replaced, found by hash, gone with the dashboard", async () => {
        const a = await account();
        const d = dashboard(a.id, "d");
        await store.dashboards.insert(d);
        assert.equal(await store.dashboards.share(d.id), undefined);
        await store.dashboards.putShare(d.id, `${d.id}-h1`, "abc123", at(1), null);
        assert.deepEqual(await store.dashboards.share(d.id), { dashboardId: d.id, accountId: a.id, prefix: "abc123", createdAt: at(1), expiresAt: null });
        await store.dashboards.putShare(d.id, `${d.id}-h2`, "def456", at(2), at(3));
        assert.equal(await store.dashboards.shareByHash(`${d.id}-h1`), undefined);
        assert.deepEqual(await store.dashboards.shareByHash(`${d.id}-h2`), { dashboardId: d.id, accountId: a.id, prefix: "def456", createdAt: at(2), expiresAt: at(3) });
        assert.equal(await store.dashboards.deleteShare(d.id), true);
        assert.equal(await store.dashboards.deleteShare(d.id), false);
        await store.dashboards.putShare(d.id, `${d.id}-h3`, "ghi789", at(4), null);
        await store.dashboards.delete(a.id, d.id);
        assert.equal(await store.dashboards.shareByHash(`${d.id}-h3`), undefined);
      });

      test("admission is told the count in the insert's transaction; a refusal writes nothing", async () => {
        const a = await account();
        const seen: number[] = [];
        const admit = (existing: number) => {
          seen.push(existing);
          if (existing >= 2) throw new Error("full");
        };
        await store.dashboards.insert(dashboard(a.id, "1"), [], admit);
        await store.dashboards.insert(dashboard(a.id, "2"), [], admit);
        const refused = dashboard(a.id, "3");
        await assert.rejects(store.dashboards.insert(refused, [widget(refused.id, "w")], admit), /full/);
        assert.deepEqual(seen, [0, 1, 2]);
        assert.equal(await store.dashboards.count(a.id), 2);
        assert.equal(await store.dashboards.widgetCount(refused.id), 0);
      });

      test("inserts racing past a bound: exactly the bound's worth of dashboards, and of widgets, are written", async () => {
        const a = await account();
        const limit = (max: number) => (existing: number) => {
          if (existing >= max) throw new Error("limit");
        };
        const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => store.dashboards.insert(dashboard(a.id, `r${i}`), [], limit(3))));
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 3);
        assert.equal(await store.dashboards.count(a.id), 3);
        const [d] = await store.dashboards.list(a.id);
        const widgets = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => store.dashboards.insertWidget(a.id, widget(d!.id, `w${i}`), limit(5))));
        assert.equal(widgets.filter((r) => r.status === "fulfilled").length, 5);
        assert.equal(await store.dashboards.widgetCount(d!.id), 5);
      });
    });
  });
}
