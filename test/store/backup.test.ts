import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { BACKUP_APPLICATION_ID, BackupFile, backupDatabase } from "../../src/store/sqlite/backup.js";
import { openDatabase, schemaVersion } from "../../src/store/sqlite/open.js";

// The online backup under a writer committing between every two steps (here: inside the
// progress callback, on another connection, so deterministically). SQLite restarts an
// unpinned backup after each such commit, so this would never finish; with the source's read
// transaction held from the first step to the last it finishes, holding the snapshot taken
// before the first step.
describe("backupDatabase", () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-backup-unit-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("copies one snapshot while another connection commits between every two steps", async () => {
    const file = join(dir, "sluice.db");
    const writer = openDatabase(file);
    writer.exec("CREATE TABLE filler (n INTEGER PRIMARY KEY, pad BLOB)");
    const insert = writer.prepare("INSERT INTO filler (pad) VALUES (randomblob(1000))");
    writer.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run(); // about 1 300 pages: several steps of 256
    })();
    const dest = join(dir, "copy.backup");
    closeSync(openSync(dest, "wx", 0o600));
    let steps = 0;
    let restarts = 0;
    let lastRemaining = Infinity;
    const info = await backupDatabase(file, dest, { sluiceVersion: "test", sourceDir: dir, files: [{ path: "admin-token", content: Buffer.from("t\n") }] }, (p) => {
      steps++;
      if (p.remainingPages > lastRemaining) restarts++;
      lastRemaining = p.remainingPages;
      if (restarts > 3) throw new Error("the backup restarts after every commit");
      writer.transaction(() => {
        for (let i = 0; i < 10; i++) insert.run();
      })();
    });
    const committedMeanwhile = (writer.prepare("SELECT count(*) AS n FROM filler").get() as { n: number }).n - 5000;
    writer.close();
    assert.ok(steps >= 4, `${steps} steps`);
    assert.equal(restarts, 0);
    assert.ok(committedMeanwhile > 0);

    const backup = BackupFile.open(dest);
    try {
      assert.equal(backup.info.schemaVersion, schemaVersion);
      assert.equal(info.schemaVersion, schemaVersion);
      assert.deepEqual(backup.info.files, ["admin-token"]);
      assert.deepEqual(backup.check(true), []);
      const restored = join(dir, "restored.db");
      closeSync(openSync(restored, "wx", 0o600));
      await backup.restoreDatabase(restored);
      const db = openDatabase(restored);
      try {
        assert.equal((db.prepare("SELECT count(*) AS n FROM filler").get() as { n: number }).n, 5000, "the snapshot before the first step");
        assert.equal(db.pragma("application_id", { simple: true }), 0, "the restored database is no backup");
        assert.equal(db.prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'sluice_backup%'").all().length, 0);
        assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      } finally {
        db.close();
      }
    } finally {
      backup.close();
    }
  });

  test("the backup is one self-contained file, marked as a Sluice backup", async () => {
    const file = join(dir, "small.db");
    openDatabase(file).close();
    const dest = join(dir, "small.backup");
    closeSync(openSync(dest, "wx", 0o600));
    await backupDatabase(file, dest, { sluiceVersion: "test", sourceDir: dir, files: [] });
    const backup = BackupFile.open(dest);
    backup.close();
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(dest, { readonly: true });
    assert.equal(db.pragma("application_id", { simple: true }), BACKUP_APPLICATION_ID);
    assert.equal(db.pragma("journal_mode", { simple: true }), "delete");
    db.close();
  });
});
