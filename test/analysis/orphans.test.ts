import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ProcessLedger } from "../../src/analysis/leftovers.js";

// An analysis must not outlive the Sluice that started it: the preload ends it when its parent
// is gone, and the ledger lets the next start kill what was left (a script that never yields).

const dir = mkdtempSync(join(tmpdir(), "sluice-orphans-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!running(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !running(pid);
}

describe("an analysis whose Sluice is killed", () => {
  for (const [name, allowPrivateTargets] of [["with the process guard", true], ["with both guards", false]] as const) {
    test(`ends within 2 s of its parent's SIGKILL (${name})`, async () => {
      const script = join(dir, `idle-${allowPrivateTargets}.cjs`);
      writeFileSync(script, `console.log("pid", process.pid); setInterval(() => {}, 1000);`);
      const runner = pathToFileURL(fileURLToPath(new URL("../../src/analysis/process_runner.js", import.meta.url))).href;
      // A stand-in for Sluice: runs the analysis through the real runner and prints its pid.
      const parent = spawn(process.execPath, ["--input-type=module", "-e", `
        import { runProcess } from ${JSON.stringify(runner)};
        runProcess({ nodePath: process.execPath, script: ${JSON.stringify(script)}, readable: [${JSON.stringify(dir)}], env: {}, cwd: ${JSON.stringify(dir)}, allowPrivateTargets: ${allowPrivateTargets} },
          { timeoutMs: 60000, cpuSeconds: 0, memoryMb: 256, outputBytes: 65536 }, (line) => console.log(line));`], { stdio: ["ignore", "pipe", "inherit"] });
      const pid = await new Promise<number>((resolve, reject) => {
        let out = "";
        parent.stdout!.on("data", (d: Buffer) => {
          out += d;
          const match = /pid (\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
        });
        parent.on("exit", () => reject(new Error(`the runner exited: ${out}`)));
      });
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
