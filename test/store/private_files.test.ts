import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { openDatabase } from "../../src/store/sqlite/open.js";
import { startSluice } from "../helpers/sluice.js";

const modeOf = (path: string) => statSync(path).mode & 0o777;

/**
 * Secrets at rest: the data dir 0700; the database and its WAL files, the admin token, the
 * relay key and the self-signed TLS key 0600, set at every start and not only when created.
 */
describe("data dir and secret file modes", () => {
  test("a fresh data dir: 0700, and every secret file 0600", async () => {
    const parent = mkdtempSync(join(tmpdir(), "sluice-modes-"));
    const dir = join(parent, "data");
    const s = await startSluice({}, dir);
    try {
      assert.equal(modeOf(dir), 0o700);
      for (const f of ["sluice.db", "sluice.db-wal", "sluice.db-shm", "admin-token", "relay-secret", "tls/key.pem"]) {
        assert.equal(modeOf(join(dir, f)), 0o600, f);
      }
      assert.equal(modeOf(join(dir, "tls")), 0o700);
    } finally {
      await s.close();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  test("a data dir left loose (0755, files 0644) is fixed at the next start; other dirs in it are left alone", async () => {
    const first = await startSluice();
    const dir = first.dataDir;
    await first.close({ keepData: true });
    try {
      chmodSync(dir, 0o755);
      chmodSync(join(dir, "tls"), 0o755);
      for (const f of ["sluice.db", "admin-token", "relay-secret", "tls/key.pem"]) chmodSync(join(dir, f), 0o644);
      // Analyses may run as another user: their dir keeps the modes it was given (not recursive).
      const analyses = join(dir, "analyses");
      mkdirSync(analyses, { recursive: true });
      chmodSync(analyses, 0o755);
      const again = await startSluice({}, dir);
      try {
        assert.equal(modeOf(dir), 0o700);
        assert.equal(modeOf(join(dir, "tls")), 0o700);
        for (const f of ["sluice.db", "sluice.db-wal", "sluice.db-shm", "admin-token", "relay-secret", "tls/key.pem"]) {
          assert.ok(existsSync(join(dir, f)), f);
          assert.equal(modeOf(join(dir, f)), 0o600, f);
        }
        assert.equal(modeOf(analyses), 0o755);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("opening the database again (as the bucket store and its writer thread do) keeps the first connection's locks", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-locks-"));
    const file = join(dir, "sluice.db");
    const first = openDatabase(file);
    const second = openDatabase(file);
    try {
      // Another process asks for the whole file: it must find it held. Closing a descriptor of
      // the file in this process (privateDatabase did) used to drop the first connection's
      // locks, and this got through, checkpointing and deleting the WAL of a live database.
      const probe = `const D = require(process.argv[1]); const db = new D(process.argv[2], { timeout: 0 });
        db.pragma("locking_mode = EXCLUSIVE");
        try { db.exec("BEGIN EXCLUSIVE; COMMIT"); console.log("got it"); } catch (e) { console.log(e.code); } finally { db.close(); }`;
      const out = execFileSync(process.execPath, ["-e", probe, createRequire(import.meta.url).resolve("better-sqlite3"), file], { encoding: "utf8" });
      assert.equal(out.trim(), "SQLITE_BUSY");
    } finally {
      second.close();
      first.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
