import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { processStartTime } from "../../src/analysis/leftovers.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { onPostgres } from "../helpers/test_store.js";

// Review of issue 11: a second `sluice start` on the data dir of a running server (the port
// taken, or not) went on far enough to take the running server's ledger of analysis processes
// for leftovers of a crash and SIGKILL them, and on its way out (LISTEN_FAILED) removed the
// running server's sluice.pid; `sluice restore --force` then replaced the database under the
// running server (everything it acknowledged afterwards lost at its next start). It is now
// refused before it touches anything.


const cli = (...args: string[]): Promise<CliRun> => runCli(args);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("a second sluice start on a data dir a server runs on", () => {
  const work = mkdtempSync(join(tmpdir(), "sluice-second-start-"));
  let running: TestSluice;
  // Stands for an analysis the running server started: its own process group, in the ledger.
  let analysis: ReturnType<typeof spawn>;
  before(async () => {
    running = await startSluice();
    analysis = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
    await new Promise((r) => analysis.once("spawn", r));
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    writeFileSync(join(running.dataDir, "analysis-processes"), `${boot}\n${analysis.pid} ${processStartTime(analysis.pid!)}\n`);
  });
  after(async () => {
    if (alive(analysis.pid!)) process.kill(-analysis.pid!, "SIGKILL");
    await running.close();
    rmSync(work, { recursive: true, force: true });
  });

  for (const [label, port] of [["its MQTT port taken", () => running.ports.mqtt], ["on free ports", () => 0]] as const) {
    test(`${label}: refused (SERVER_RUNNING, exit 1), the server's analyses and pid file untouched, restore still refused`, async () => {
      const start = await cli("start", "--data-dir", running.dataDir, "--host", "127.0.0.1", "--log-level", "warn",
        "--mqtt-port", String(port()), "--mqtts-port", "0", "--ws-port", "0", "--wss-port", "0", "--http-port", "0");
      assert.equal(start.code, 1, start.stderr + start.stdout);
      assert.match(start.stderr, new RegExp(`^error \\(SERVER_RUNNING\\): a Sluice server \\(pid ${process.pid}\\) is already running on `));
      assert.equal(start.stdout, "", "it logged nothing: it did not start at all");
      assert.equal(alive(analysis.pid!), true, "the running server's analysis was not killed");
      assert.equal(readFileSync(join(running.dataDir, "sluice.pid"), "utf8").trim(), String(process.pid));
      // Backup and restore are the SQLite file's: a node on PostgreSQL has none in its data dir,
      // and no `sluice restore` can replace its database (backup_postgres.test.ts).
      if (onPostgres()) return;
      const backup = await cli("backup", join(work, `${label.replace(/\W/g, "-")}.backup`), "--data-dir", running.dataDir);
      assert.equal(backup.code, 0, backup.stderr);
      const restore = await cli("restore", join(work, `${label.replace(/\W/g, "-")}.backup`), "--data-dir", running.dataDir, "--force");
      assert.equal(restore.code, 1);
      assert.match(restore.stderr, /SERVER_RUNNING/);
    });
  }

  test("the server still serves", async () => {
    const response = await fetch(`${running.api}/device`, { headers: { token: running.adminToken } });
    assert.equal(response.status, 200);
  });
});
