import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runCli } from "../helpers/cli.js";

// A node on PostgreSQL keeps no database in its data dir: `sluice backup` says so (as `restore` does, once it has read its file)
// and name the tools that do the job, instead of failing on a missing sluice.db.
const dir = mkdtempSync(join(tmpdir(), "sluice-backup-pg-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("backup refuses a PostgreSQL store, naming pg_dump", async () => {
  const config = join(dir, "sluice.json");
  writeFileSync(config, JSON.stringify({ dataDir: join(dir, "data"), postgres: { url: "postgres://sluice@127.0.0.1:1/sluice" }, relaySecret: "the cluster's relay secret" }));
  const backup = await runCli(["backup", "--config", config, join(dir, "out.sluicebackup")]);
  assert.equal(backup.code, 1, backup.stderr);
  assert.match(backup.stderr, /PostgreSQL.*pg_dump/);
});
