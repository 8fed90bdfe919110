import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import sdk from "@tago-io/sdk";
import type { MqttClient } from "mqtt";
import { schemaVersion } from "../../src/store/sqlite/open.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { onPostgres } from "../helpers/test_store.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// `sluice backup` on a live server under QoS 1 ingest, `sluice restore` into a fresh data dir,
// and a server started on it: every record acknowledged before the backup began is there.
// The CLI runs as a child process, never blocking this process, which runs the server.

const { Device, Resources } = sdk;

// A backup of a loaded database may take a while on a busy machine: a generous kill timer.
const cli = (...args: string[]): Promise<CliRun> => runCli(args, 120_000);

/** A refusal: exit 1 and one line on stderr matching `pattern`. */
function assertRefused(run: CliRun, pattern: RegExp): void {
  assert.equal(run.code, 1, `exit code; stderr: ${run.stderr}`);
  assert.equal(run.stderr.trim().split("\n").length, 1, `one line: ${run.stderr}`);
  assert.match(run.stderr, pattern);
}

/** Every value of `variable` in the device's bucket, through GET /data, page by page. */
async function values(api: string, token: string, variable: string): Promise<number[]> {
  const all: number[] = [];
  for (let skip = 0; ; skip += 10_000) {
    const res = await fetch(`${api}/data?variable=${variable}&qty=10000&skip=${skip}`, { headers: { authorization: token } });
    const body = (await res.json()) as { status: boolean; result: { value: number }[] };
    assert.equal(body.status, true, JSON.stringify(body));
    all.push(...body.result.map((r) => r.value));
    if (body.result.length < 10_000) return all;
  }
}

const CLIENTS = 4;
/** Client c publishes c * STRIDE + 0, 1, 2, ... one at a time, each after the previous PUBACK. */
const STRIDE = 1_000_000;

// `sluice backup` and `restore` copy the data dir's SQLite database; a node on PostgreSQL has
// none there and is backed up with PostgreSQL's tools (backup_postgres.test.ts checks the refusal).
describe("sluice backup and restore", { skip: onPostgres() ? "backs up and restores the SQLite file, which a node on PostgreSQL does not have" : false }, () => {
  const work = mkdtempSync(join(tmpdir(), "sluice-backup-test-"));
  const backupFile = join(work, "sluice.backup");
  let source: TestSluice;
  let device: { deviceId: string; token: string };
  let original: { adminToken: string; relaySecret: string; cert: string };

  before(async () => {
    source = await startSluice();
    device = await source.device();
    const resources = new Resources({ token: source.adminToken, region: { api: source.api, sse: `${source.api}/events` } });
    await resources.actions.create({
      name: "store", type: "mqtt_topic",
      trigger: [{ device: device.deviceId, topic: "ingest" } as never], action: { type: "insert_bucket" } as never,
    });
    // Some bulk first, so the database is many backup steps long (256 pages a step).
    const deviceApi = new Device({ token: device.token, region: { api: source.api, sse: `${source.api}/events` } });
    for (let batch = 0; batch < 20; batch++) {
      await deviceApi.sendData(Array.from({ length: 2000 }, (_, i) => ({ variable: "fill", value: batch * 2000 + i, unit: "u" })));
    }
    original = {
      adminToken: source.adminToken,
      relaySecret: readFileSync(join(source.dataDir, "relay-secret"), "utf8"),
      cert: readFileSync(join(source.dataDir, "tls", "cert.pem"), "utf8"),
    };
  });
  after(async () => {
    await source?.close().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  });

  test("a backup taken under QoS 1 ingest restores every record acknowledged before it began", async (t) => {
    const acked: number[][] = Array.from({ length: CLIENTS }, () => []);
    const ackedCount = () => acked.reduce((n, a) => n + a.length, 0);
    let running = true;
    const clients: MqttClient[] = [];
    for (let c = 0; c < CLIENTS; c++) clients.push(await source.connect({ username: "Token", password: device.token }));
    const loops = clients.map(async (client, c) => {
      for (let k = 0; running; k++) {
        await client.publishAsync("ingest", JSON.stringify({ variable: "seq", value: c * STRIDE + k }), { qos: 1 });
        acked[c]!.push(c * STRIDE + k);
      }
    });
    while (ackedCount() < 400) await new Promise((r) => setTimeout(r, 10));

    const before = acked.map((a) => [...a]);
    const countAtStart = ackedCount();
    const backup = await cli("backup", backupFile, "--data-dir", source.dataDir);
    const duringBackup = ackedCount() - countAtStart;
    await new Promise((r) => setTimeout(r, 200));
    running = false;
    await Promise.all(loops);

    assert.equal(backup.code, 0, backup.stderr);
    t.diagnostic(`${countAtStart} records acknowledged before the backup, ${duringBackup} while it ran; ${backup.stdout.trim()}`);
    assert.ok(duringBackup > 0, "ingest went on while `sluice backup` ran");
    // Progress on stderr: pages done of the total, and a percentage, to the end.
    assert.match(backup.stderr, /backup: 0\/\d+ pages \(0%\)/);
    assert.match(backup.stderr, /backup: (\d+)\/\1 pages \(100%\)/);
    assert.match(backup.stdout, /written, .* \(\d+ pages\), database schema \d+/);
    assert.equal(statSync(backupFile).mode & 0o777, 0o600, "the backup holds secrets: 0600");
    assert.deepEqual(readdirSync(work), ["sluice.backup"], "no partial file left beside it");

    // While the server runs on a data dir, nothing is restored into it, even with --force.
    const dbBefore = statSync(join(source.dataDir, "sluice.db")).ino;
    assertRefused(await cli("restore", backupFile, "--data-dir", source.dataDir, "--force"), /a Sluice server \(pid \d+\) is running on .*: stop it before restoring/);
    assert.equal(statSync(join(source.dataDir, "sluice.db")).ino, dbBefore);

    await source.close();
    const restoredDir = join(work, "restored");
    const restore = await cli("restore", backupFile, "--data-dir", restoredDir);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /restore: (\d+)\/\1 pages \(100%\)/);
    assert.equal(readFileSync(join(restoredDir, "relay-secret"), "utf8"), original.relaySecret);
    assert.equal(readFileSync(join(restoredDir, "tls", "cert.pem"), "utf8"), original.cert);
    for (const f of ["sluice.db", "admin-token", "relay-secret", "tls/key.pem"]) assert.equal(statSync(join(restoredDir, f)).mode & 0o777, 0o600, f);

    const restored = await startSluice({}, restoredDir);
    try {
      assert.equal(restored.adminToken, original.adminToken, "the admin token file came back with the database");
      const seq = new Set(await values(restored.api, device.token, "seq"));
      const missing = before.flat().filter((v) => !seq.has(v));
      assert.deepEqual(missing, [], `${missing.length} of ${before.flat().length} records acknowledged before the backup are missing`);
      // One snapshot: each client's records are a prefix of what it published (it published
      // the next only after the previous was stored), never a set with holes.
      for (let c = 0; c < CLIENTS; c++) {
        const got = [...seq].filter((v) => Math.floor(v / STRIDE) === c).map((v) => v % STRIDE).sort((a, b) => a - b);
        assert.deepEqual(got, got.map((_, i) => i), `client ${c}: a prefix`);
        assert.ok(got.length <= acked[c]!.length + 1, `client ${c}: nothing it did not publish`);
      }
      assert.equal((await values(restored.api, device.token, "fill")).length, 40_000);
    } finally {
      await restored.close();
    }
  });

  test("restore --check reads the backup and checks it, touching nothing", async () => {
    const run = await cli("restore", backupFile, "--check");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`Sluice backup made .* database schema ${schemaVersion}, \\d+ pages .* files: admin-token, relay-secret, tls/cert.pem, tls/key.pem`));
    assert.match(run.stdout, /integrity check: ok/);
  });

  test("restore refuses a file that is not a Sluice backup", async () => {
    const target = join(work, "never");
    const random = join(work, "random.bin");
    writeFileSync(random, randomBytes(64 * 1024));
    assertRefused(await cli("restore", random, "--data-dir", target), /random\.bin is not a Sluice backup \(not a SQLite database\)/);
    // A SQLite database, even Sluice's own, is not a backup without the backup's mark.
    const plain = join(work, "plain.db");
    const db = new Database(plain);
    db.exec("CREATE TABLE t (x)");
    db.close();
    assertRefused(await cli("restore", plain, "--data-dir", target), /plain\.db is not a Sluice backup/);
    assertRefused(await cli("restore", join(work, "absent"), "--data-dir", target), /absent does not exist/);
    assert.equal(existsSync(target), false, "the data dir was not even made");
  });

  test("restore refuses a backup of a newer schema than this Sluice's", async () => {
    const bumped = join(work, "bumped.backup");
    copyFileSync(backupFile, bumped);
    const db = new Database(bumped);
    db.pragma(`user_version = ${schemaVersion + 1}`);
    db.close();
    const target = join(work, "never-newer");
    assertRefused(
      await cli("restore", bumped, "--data-dir", target),
      new RegExp(`holds database schema ${schemaVersion + 1}, newer than this Sluice's ${schemaVersion}`),
    );
    assert.equal(existsSync(target), false);
  });

  // Review of issue 11: `restore --check` printed the backup's own metadata raw, so a crafted
  // file could clear the screen, retitle the terminal, print a fake "integrity check: ok" line of
  // its own or conceal (ESC[8m) the refusal that follows it.
  test("a crafted backup's metadata, printed by restore --check or quoted in a refusal, cannot drive the terminal", async () => {
    const evil = "\u001b]0;pwned\u0007\u001b[2J\u001b[8m\nintegrity check: ok\u2028";
    const crafted = join(work, "crafted.backup");
    copyFileSync(backupFile, crafted);
    let db = new Database(crafted);
    db.prepare("UPDATE sluice_backup SET source_dir = ?, sluice_version = ?, created_at = ?").run(evil, evil, evil);
    db.prepare("INSERT INTO sluice_backup_files VALUES (?, ?)").run(`../x${evil}`, Buffer.from("x"));
    db.close();
    const checked = await cli("restore", crafted, "--check");
    assert.equal(checked.code, 0, checked.stderr);
    assert.doesNotMatch(checked.stdout, /[\u0000-\u0009\u000b-\u001f\u2028]/);
    assert.deepEqual(checked.stdout.trim().split("\n").map((line) => line.slice(0, 20)), ["Sluice backup made \\", "integrity check: ok"]);
    // A refusal quoting the file's words (the version that made a newer schema).
    db = new Database(crafted);
    db.pragma(`user_version = ${schemaVersion + 1}`);
    db.close();
    const refused = await cli("restore", crafted, "--data-dir", join(work, "never-crafted"));
    assertRefused(refused, /newer than this Sluice's/);
    assert.doesNotMatch(refused.stderr, /[\u0000-\u0009\u000b-\u001f\u2028]/);
  });

  test("restore does not replace an existing database without --force", async () => {
    const target = join(work, "existing");
    assert.equal((await cli("restore", backupFile, "--data-dir", target)).code, 0);
    assertRefused(await cli("restore", backupFile, "--data-dir", target), /already holds a database: pass --force/);
    const forced = await cli("restore", backupFile, "--data-dir", target, "--force");
    assert.equal(forced.code, 0, forced.stderr);
  });

  test("backup refuses a data dir with no database, and the live database as its target", async () => {
    assertRefused(await cli("backup", join(work, "x.backup"), "--data-dir", join(work, "nothing-here")), /sluice\.db does not exist/);
    const dir = mkdtempSync(join(work, "live-"));
    new Database(join(dir, "sluice.db")).close();
    assertRefused(await cli("backup", join(dir, "sluice.db"), "--data-dir", dir), /is the live database itself/);
  });
});
