import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { consoleLine, createAnalysis, resourcesOf } from "../helpers/analysis.js";

// Attack (issue 9 follow-up): process_guard.ts decides "is this pid the process itself?" with
// `Number(pid) === process.pid`, both read at call time from things the script owns: the global
// `Number` and the configurable `process.pid`. Replace either and every pid is "self": the
// original `process._kill` / `os.setPriority` run for any pid. Under root the analyses all run as
// `nobody`, so one account's analysis can SIGKILL or SIGSTOP every other account's running
// analyses (or `kill(-1)` them all); without root the analysis runs as Sluice's user and can
// SIGKILL Sluice itself, then (no longer timed out by anyone) listen on Sluice's HTTP port and
// collect the tokens clients send. docs/security.md: "A preloaded guard refuses with
// ERR_ACCESS_DENIED everything that acts on another process".

let sluice: TestSluice;
let victim: ChildProcess;
before(async () => {
  sluice = await startSluice();
  // Another process an analysis must not signal, owned by the user analyses run as (another
  // account's analysis under root; Sluice's own user otherwise).
  const asAnalysis = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  victim = spawn("sleep", ["60"], { stdio: "ignore", ...asAnalysis });
});
after(async () => {
  victim.kill("SIGKILL");
  await sluice.close();
});

const ATTEMPT = `const attempt = (name, fn) => { try { const r = fn(); console.log(name, "ALLOWED"); return r; } catch (e) { console.log(name, e.code || e.message); } };`;

async function outcomes(code: string, fileName = "analysis.js"): Promise<Map<string, string>> {
  const { id } = await createAnalysis(resourcesOf(sluice), code, { fileName });
  await resourcesOf(sluice).analysis.run(id);
  const lines = (await consoleLine(sluice, id, /^done$/)).map((l) => l.message);
  return new Map(lines.filter((l) => l !== "done").map((l) => [l.slice(0, l.lastIndexOf(" ")), l.slice(l.lastIndexOf(" ") + 1)]));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the process guard cannot be talked into treating another pid as the process itself", () => {
  test("CJS: a replaced global Number or a redefined process.pid opens kill and setPriority to every pid", async () => {
    const seen = await outcomes(`${ATTEMPT}
      const os = require("node:os");
      const RealNumber = Number;
      globalThis.Number = function () { return process.pid; };
      attempt("kill parent, Number replaced", () => process.kill(process.ppid, 0));
      attempt("setPriority parent, Number replaced", () => os.setPriority(process.ppid, 19));
      attempt("SIGKILL another process, Number replaced", () => process.kill(${victim.pid}, "SIGKILL"));
      globalThis.Number = RealNumber;
      const own = process.pid;
      Object.defineProperty(process, "pid", { value: process.ppid, configurable: true });
      attempt("kill parent, process.pid redefined", () => process.kill(process.ppid, 0));
      Object.defineProperty(process, "pid", { value: own, configurable: true });
      console.log("done");`);
    // The guard's refusal, not the kernel's (EPERM under root) nor success (without root).
    for (const name of ["kill parent, Number replaced", "setPriority parent, Number replaced", "SIGKILL another process, Number replaced", "kill parent, process.pid redefined"]) {
      assert.equal(seen.get(name), "ERR_ACCESS_DENIED", `${name}: ${JSON.stringify([...seen])}`);
    }
    assert.ok(alive(victim.pid!), "the other process was killed by the analysis");
  });
});
