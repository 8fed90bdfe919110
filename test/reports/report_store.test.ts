import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseReport, type ReportRow } from "../../src/reports/report_model.js";
import type { FileStore, StoredFileInfo } from "../../src/reports/report_store.js";
import { backends, type BackendHandle, type TestStore } from "../helpers/backends.js";

// The report and file stores' contract, run once per backend (test/helpers/backends.ts): the
// report service (test/reports/reports.test.ts, over HTTP on SQLite) relies on exactly this.

const T = Date.parse("2025-03-01T00:00:00.000Z");
const at = (s: number) => new Date(T + s * 1000);

function definition(name: string, extra: Record<string, unknown> = {}) {
  return parseReport({ name, query: { devices: ["dev1"], variables: ["temperature"], range: "7 days" }, ...extra }, { minIntervalSeconds: 60 });
}

for (const h0 of backends()) {
  describe(`report and file stores on ${h0.name}`, () => {
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

    function report(accountId: string, createdAt: Date, extra: Record<string, unknown> = {}): ReportRow {
      return { id: id("rep"), accountId, definition: definition(`report ${n}`, extra), createdAt, updatedAt: createdAt, lastRun: null };
    }

    describe("reports", () => {
      test("insert, get, list oldest first, all, count; another account's report is not found", async () => {
        const account = id("acc");
        const second = report(account, at(2), { schedule: { cron: "0 8 * * *", timezone: "Europe/Lisbon" }, recipients: ["ops@example.com"] });
        const first = report(account, at(1), { format: ["pdf", "csv"], title: "Weekly" });
        const other = report(id("acc"), at(1));
        for (const r of [second, first, other]) await store.reports.insert(r);
        assert.deepEqual(await store.reports.get(account, first.id), first);
        assert.deepEqual(await store.reports.get(account, second.id), second, "schedule, recipients and the rest read back as written");
        assert.equal(await store.reports.get(account, other.id), undefined);
        assert.deepEqual((await store.reports.list(account)).map((r) => r.id), [first.id, second.id]);
        assert.equal(await store.reports.count(account), 2);
        assert.equal(await store.reports.count(id("acc")), 0);
        const everyone = (await store.reports.all()).map((r) => r.id);
        for (const r of [first, second, other]) assert.ok(everyone.includes(r.id));
      });

      test("reports made in the same millisecond list by id", async () => {
        const account = id("acc");
        const rows = [report(account, at(5)), report(account, at(5)), report(account, at(5))];
        for (const r of [rows[2]!, rows[0]!, rows[1]!]) await store.reports.insert(r);
        assert.deepEqual((await store.reports.list(account)).map((r) => r.id), rows.map((r) => r.id).sort());
      });

      test("update changes the definition and name of the account's report only; setLastRun; delete", async () => {
        const account = id("acc");
        const row = report(account, at(1));
        await store.reports.insert(row);
        const changed = definition("renamed", { active: false });
        await store.reports.update(id("acc"), row.id, changed, at(9));
        assert.deepEqual(await store.reports.get(account, row.id), row, "another account's update changes nothing");
        await store.reports.update(account, row.id, changed, at(9));
        const updated = (await store.reports.get(account, row.id))!;
        assert.deepEqual(updated.definition, changed);
        assert.equal(updated.updatedAt.getTime(), at(9).getTime());
        assert.equal(updated.createdAt.getTime(), at(1).getTime());

        await store.reports.setLastRun(row.id, { at: at(20), status: "failed", message: "no mail server", files: ["f1", "f2"] });
        assert.deepEqual((await store.reports.get(account, row.id))!.lastRun, { at: at(20), status: "failed", message: "no mail server", files: ["f1", "f2"] });
        await store.reports.setLastRun(row.id, { at: at(30), status: "ok", message: "", files: [] });
        assert.deepEqual((await store.reports.get(account, row.id))!.lastRun, { at: at(30), status: "ok", message: "", files: [] });

        assert.equal(await store.reports.delete(id("acc"), row.id), false);
        assert.equal(await store.reports.delete(account, row.id), true);
        assert.equal(await store.reports.delete(account, row.id), false);
        assert.equal(await store.reports.get(account, row.id), undefined);
      });
    });

    describe("files", () => {
      function file(accountId: string, size: number, extra: Partial<StoredFileInfo> = {}): { info: StoredFileInfo; data: Buffer } {
        const data = Buffer.alloc(size, n % 256);
        const info: StoredFileInfo = {
          id: id("file"), accountId, kind: "report", reportId: null, name: `f${n}.pdf`, contentType: "application/pdf", size, createdAt: at(n), ...extra,
        };
        return { info, data };
      }
      const add = (files: FileStore, f: { info: StoredFileInfo; data: Buffer }) => files.add(f.info, f.data);

      test("add, get, data byte for byte; a report's files newest first; deleted with the report", async () => {
        const files = store.files({ maxFiles: 100, maxBytes: 1 << 20 });
        const account = id("acc");
        const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const a = { info: { ...file(account, 0).info, reportId: "r1", size: every.length, createdAt: at(1) }, data: every };
        const b = file(account, 10, { reportId: "r1", createdAt: at(2), kind: "report" });
        const c = file(account, 10, { reportId: "r2", createdAt: at(3) });
        const attachment = file(account, 5, { kind: "attachment", name: "notes ünïcode.txt", contentType: "text/plain" });
        for (const f of [a, b, c, attachment]) assert.deepEqual(await add(files, f), []);
        assert.deepEqual(await files.get(account, a.info.id), a.info);
        assert.deepEqual(await files.get(account, attachment.info.id), attachment.info);
        assert.equal(await files.get(id("acc"), a.info.id), undefined, "another account's file is not found");
        assert.deepEqual(await files.data(account, a.info.id), every);
        assert.equal(await files.data(id("acc"), a.info.id), undefined);
        assert.deepEqual((await files.ofReport(account, "r1")).map((f) => f.id), [b.info.id, a.info.id]);
        assert.equal(await files.deleteOfReport(id("acc"), "r1"), 0);
        assert.equal(await files.deleteOfReport(account, "r1"), 2);
        assert.deepEqual(await files.ofReport(account, "r1"), []);
        assert.equal(await files.get(account, a.info.id), undefined);
        assert.deepEqual((await files.ofReport(account, "r2")).map((f) => f.id), [c.info.id]);
      });

      test("past maxFiles the oldest go, in the same add; other accounts are untouched", async () => {
        const files = store.files({ maxFiles: 3, maxBytes: 1 << 20 });
        const account = id("acc");
        const other = id("acc");
        const otherFiles = [file(other, 1), file(other, 1), file(other, 1)];
        for (const f of otherFiles) await add(files, f);
        const made = [file(account, 1), file(account, 1), file(account, 1)];
        for (const f of made) assert.deepEqual(await add(files, f), []);
        const fourth = file(account, 1);
        assert.deepEqual(await add(files, fourth), [made[0]!.info]);
        assert.equal(await files.get(account, made[0]!.info.id), undefined);
        for (const f of [made[1]!, made[2]!, fourth]) assert.ok(await files.get(account, f.info.id));
        for (const f of otherFiles) assert.ok(await files.get(other, f.info.id));
      });

      test("past maxBytes as many of the oldest go as make room, oldest first; a file of maxBytes leaves nothing else", async () => {
        const files = store.files({ maxFiles: 100, maxBytes: 100 });
        const account = id("acc");
        const made = [file(account, 30), file(account, 30), file(account, 30)];
        for (const f of made) await add(files, f);
        const big = file(account, 60);
        assert.deepEqual(await add(files, big), [made[0]!.info, made[1]!.info], "90 + 60: two of 30 go, 30 + 60 fit");
        const whole = file(account, 100);
        assert.deepEqual(await add(files, whole), [made[2]!.info, big.info]);
        assert.deepEqual(await files.data(account, whole.info.id), whole.data);
      });

      test("files made in the same millisecond go in the order they were added", async () => {
        const files = store.files({ maxFiles: 2, maxBytes: 1 << 20 });
        const account = id("acc");
        const made = [file(account, 1, { createdAt: at(0) }), file(account, 1, { createdAt: at(0) }), file(account, 1, { createdAt: at(0) })];
        assert.deepEqual(await add(files, made[0]!), []);
        assert.deepEqual(await add(files, made[1]!), []);
        assert.deepEqual(await add(files, made[2]!), [made[0]!.info]);
      });

      test("two writers (on PostgreSQL: two pools, as two nodes) adding at once keep the account within its bounds", async () => {
        const bounds = { maxFiles: 4, maxBytes: 1000 };
        const second = await h.store();
        const writers = [store.files(bounds), second.files(bounds)];
        const account = id("acc");
        const made = Array.from({ length: 40 }, (_, i) => file(account, 100 + (i % 3) * 50));
        const dropped = (await Promise.all(made.map((f, i) => add(writers[i % 2]!, f)))).flat();
        const kept = await h.rows<{ id: string; size: number }>("SELECT id, size FROM account_files WHERE account_id = ?", [account]);
        assert.ok(kept.length <= bounds.maxFiles, `${kept.length} files kept, bound ${bounds.maxFiles}`);
        const bytes = kept.reduce((sum, f) => sum + Number(f.size), 0);
        assert.ok(bytes <= bounds.maxBytes, `${bytes} bytes kept, bound ${bounds.maxBytes}`);
        // Every file added is either kept or was dropped, once.
        const seen = [...kept.map((f) => f.id), ...dropped.map((f) => f.id)].sort();
        assert.deepEqual(seen, made.map((f) => f.info.id).sort());
      });
    });
  });
}
