import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { running, runUnderStandIn } from "../helpers/orphans.js";

// Second outside review (attack3). docs/security.md: "No analysis outlives Sluice: the preload
// SIGKILLs its process within about 250 ms of Sluice's death". The watch is a setInterval whose
// Timeout the guard never exposes, but async_hooks hands it over: in a `before` hook,
// `executionAsyncResource()` is the Timeout about to fire, and its own `_onTimeout` property is
// writable. A script that never blocks (so RLIMIT_CPU never ends it either) then outlives a
// Sluice killed with SIGKILL, without its wall-time limit, until Sluice's next start.

const dir = mkdtempSync(join(tmpdir(), "sluice-attack9b-watch-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const NEUTER_WATCH = `
const ah = require("node:async_hooks");
ah.createHook({ before() {
  const r = ah.executionAsyncResource();
  if (r && r._repeat === 250 && typeof r._onTimeout === "function" && !r.__seen) { r._onTimeout = function () {}; r.__seen = true; }
} }).enable();
console.log("pid", process.pid);
setInterval(() => {}, 1000);
`;

describe("an analysis that neuters the parent watch through async_hooks", { skip: process.platform !== "linux" && "needs /proc" }, () => {
  for (const [name, allowPrivateTargets] of [["with the process guard", true], ["with both guards", false]] as const) {
    test(`still ends within 2 s of its parent's SIGKILL (${name})`, async () => {
      const script = join(dir, `neuter-${allowPrivateTargets}.cjs`);
      writeFileSync(script, NEUTER_WATCH);
      const { parent, pid } = await runUnderStandIn(script, dir, { allowPrivateTargets, cpuSeconds: 5 });
      // Let the watch fire (and be neutered) a few times before Sluice dies.
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(running(pid));
      parent.kill("SIGKILL");
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && running(pid)) await new Promise((r) => setTimeout(r, 50));
      const alive = running(pid);
      if (alive) process.kill(-pid, "SIGKILL"); // its own group, as the runner starts it
      assert.ok(!alive, `analysis ${pid} still running 2 s after its parent's SIGKILL`);
    });
  }
});
