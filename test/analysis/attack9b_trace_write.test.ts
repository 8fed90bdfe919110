import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { runProcess } from "../../src/analysis/process_runner.js";

// Second outside review (attack3). docs/security.md: the permission model bounds each analysis
// so that it "cannot write files". `trace_events.createTracing(...).enable()` is not covered by
// Node 20's permission model: it writes `node_trace.1.log` into the process's cwd, and
// `process.chdir` is allowed into any readable directory (its own folder, every package folder
// of the shared SDK view). Without root (no runAs), those directories belong to Sluice's user:
// an analysis writes ~25 MB/s into `<data dir>/analyses/node_modules/...`, files that stay after
// the run and fill the data dir's disk (SQLite, every account). Here the runner is called as a
// non-root Sluice calls it (no runAs).

const dir = mkdtempSync(join(tmpdir(), "sluice-attack9b-trace-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function traceFiles(root: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(root, { recursive: true }) as string[]) if (name.includes("node_trace")) found.push(join(root, name));
  return found;
}

describe("an analysis without a separate OS user", () => {
  test("cannot write trace files into its folder or the shared SDK view", async () => {
    const scriptDir = join(dir, "analysis");
    const sdk = join(dir, "node_modules", "@tago-io", "sdk");
    mkdirSync(scriptDir, { recursive: true });
    mkdirSync(sdk, { recursive: true });
    const script = join(scriptDir, "script.cjs");
    writeFileSync(script, `
      const tracing = require("node:trace_events").createTracing({ categories: ["node", "node.async_hooks", "v8", "node.console"] });
      try { process.chdir(${JSON.stringify(sdk)}); } catch (e) { console.log("chdir", e.code); }
      tracing.enable();
      const end = Date.now() + 1500; let n = 0;
      (function spin() { for (let i = 0; i < 2000; i++) { console.time("x".repeat(500) + n++); Promise.resolve().then(() => {}); } if (Date.now() < end) setImmediate(spin); else tracing.disable(); })();
    `);
    const lines: string[] = [];
    const outcome = await runProcess(
      { nodePath: process.execPath, script, readable: [scriptDir, join(dir, "node_modules")], env: {}, cwd: scriptDir, allowPrivateTargets: true },
      { timeoutMs: 10000, cpuSeconds: 0, memoryMb: 256, outputBytes: 65536 },
      (line) => lines.push(line),
    );
    const written = traceFiles(dir).map((f) => `${f} (${statSync(f).size} bytes)`);
    assert.deepEqual(written, [], `the analysis wrote files (exit ${outcome.code}, output ${lines.join(" | ")})`);
  });
});
