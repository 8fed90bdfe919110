import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ProcessLedger } from "../../src/analysis/leftovers.js";
import { gone, running, runUnderStandIn } from "../helpers/orphans.js";

// An analysis must not outlive the Sluice that started it: the preload ends it when its parent
// is gone, and the ledger lets the next start kill what was left (a script that never yields).

const dir = mkdtempSync(join(tmpdir(), "sluice-orphans-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("an analysis whose Sluice is killed", () => {
  for (const [name, allowPrivateTargets] of [["with the process guard", true], ["with both guards", false]] as const) {
    test(`ends within 2 s of its parent's SIGKILL (${name})`, async () => {
      const script = join(dir, `idle-${allowPrivateTargets}.cjs`);
      writeFileSync(script, `console.log("pid", process.pid); setInterval(() => {}, 1000);`);
      // A stand-in for Sluice: runs the analysis through the real runner and prints its pid.
      const { parent, pid } = await runUnderStandIn(script, dir, { allowPrivateTargets, cpuSeconds: 0 });
      assert.ok(running(pid));
      parent.kill("SIGKILL");
      const started = Date.now();
      assert.ok(await gone(pid, 2000), `analysis ${pid} still running ${Date.now() - started} ms after its parent died`);
    });
  }
});

describe("the process ledger", { skip: process.platform !== "linux" && "needs /proc" }, () => {
  test("the next start kills the process groups still listed, and only those", () => {
    const file = join(dir, "analysis-processes");
    // A busy analysis (never yields: its own watch cannot run), in its own group as the runner starts them.
    const busy = spawn(process.execPath, ["-e", "for (;;) {}"], { detached: true, stdio: "ignore" });
    const other = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
    try {
      const first = new ProcessLedger(file);
      first.add(busy.pid!);
      first.add(other.pid!);
      first.remove(other.pid!);
      // A record whose pid was reused since: same pid, another start time. Never killed.
      writeFileSync(file, `${readFileSync(file, "utf8")}${process.pid} 1\n`);
      // "Sluice was killed": the next one reads the ledger.
      const killed = new ProcessLedger(file).reapLeftovers();
      assert.deepEqual(killed, [busy.pid]);
      assert.equal(spawnSync("sleep", ["0.2"]).status, 0);
      assert.equal(running(busy.pid!), false);
      assert.equal(running(other.pid!), true);
      assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 1, "the ledger is emptied");
    } finally {
      busy.kill("SIGKILL");
      other.kill("SIGKILL");
    }
  });
});
