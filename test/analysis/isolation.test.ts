import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { consoleLine, createAnalysis, resourcesOf } from "../helpers/analysis.js";

// Security issue 9, "no analysis may take over the server": each vector from a real analysis
// run. Every attempt prints "<name> <outcome>", outcome ALLOWED or the error's code.

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice();
});
after(async () => {
  await sluice.close();
});

const ATTEMPT = `const attempt = (name, fn) => { try { const r = fn(); console.log(name, "ALLOWED"); return r; } catch (e) { console.log(name, e.code || e.message); } };`;

/** Runs `code` (ending with console.log("done")) and returns name → outcome. */
async function outcomes(code: string, fileName = "analysis.js"): Promise<Map<string, string>> {
  const { id } = await createAnalysis(resourcesOf(sluice), code, { fileName });
  await resourcesOf(sluice).analysis.run(id);
  const lines = (await consoleLine(sluice, id, /^done$/)).map((l) => l.message);
  return new Map(lines.filter((l) => l !== "done").map((l) => [l.slice(0, l.lastIndexOf(" ")), l.slice(l.lastIndexOf(" ") + 1)]));
}

describe("an analysis cannot act on another process", () => {
  test("CJS: debug mode, priorities, signals, identity, bindings, addons, the inspector", async () => {
    const seen = await outcomes(`${ATTEMPT}
      const os = require("node:os");
      // The review's vector: SIGUSR1 to Sluice opens its inspector on 127.0.0.1:9229.
      attempt("_debugProcess parent", () => process._debugProcess(process.ppid));
      attempt("_debugProcess self", () => process._debugProcess(process.pid));
      attempt("setPriority parent", () => os.setPriority(process.ppid, 19));
      attempt("setPriority via require('os')", () => require("os").setPriority(process.ppid, 19));
      attempt("setPriority via _load", () => module.constructor._load("os").setPriority(process.ppid, 19));
      attempt("setPriority via globalThis", () => globalThis.process.mainModule?.require?.("os").setPriority(process.ppid, 19) ?? os.setPriority(process.ppid, 19));
      attempt("setPriority self by 0", () => os.setPriority(0, 10));
      attempt("setPriority self by pid", () => os.setPriority(process.pid, 11));
      attempt("unguard setPriority", () => Object.defineProperty(os, "setPriority", { value: () => {} }));
      attempt("reassign setPriority", () => { "use strict"; os.setPriority = () => {}; });
      attempt("kill parent", () => process.kill(process.ppid, 0));
      attempt("kill process group", () => process.kill(-process.ppid, 0));
      attempt("kill own group (pid 0)", () => process.kill(0, 0));
      attempt("setuid", () => process.setuid(0));
      attempt("setgid", () => process.setgid(0));
      attempt("setgroups", () => process.setgroups([0]));
      attempt("unguard _debugProcess", () => Object.defineProperty(process, "_debugProcess", { value: () => {} }));
      attempt("binding os", () => process.binding("os"));
      attempt("dlopen", () => process.dlopen({ exports: {} }, "/nonexistent.node"));
      attempt("inspector.open", () => require("node:inspector").open(0));
      attempt("worker", () => new (require("node:worker_threads").Worker)("1", { eval: true }));
      console.log("done");`);
    const expected: Record<string, string> = {
      "_debugProcess parent": "ERR_ACCESS_DENIED",
      "_debugProcess self": "ERR_ACCESS_DENIED",
      "setPriority parent": "ERR_ACCESS_DENIED",
      "setPriority via require('os')": "ERR_ACCESS_DENIED",
      "setPriority via _load": "ERR_ACCESS_DENIED",
      "setPriority via globalThis": "ERR_ACCESS_DENIED",
      // Its own priority: lowering it is harmless, raising it needs a privilege it lacks.
      "setPriority self by 0": "ALLOWED",
      "setPriority self by pid": "ALLOWED",
      "kill parent": "ERR_ACCESS_DENIED",
      "kill process group": "ERR_ACCESS_DENIED",
      "kill own group (pid 0)": "ERR_ACCESS_DENIED",
      setuid: "ERR_ACCESS_DENIED",
      setgid: "ERR_ACCESS_DENIED",
      setgroups: "ERR_ACCESS_DENIED",
      "binding os": "ERR_ACCESS_DENIED",
      dlopen: "ERR_DLOPEN_DISABLED",
      "inspector.open": "ERR_ACCESS_DENIED",
      worker: "ERR_ACCESS_DENIED",
    };
    for (const [name, outcome] of Object.entries(expected)) assert.equal(seen.get(name), outcome, `${name}: ${JSON.stringify([...seen])}`);
    assert.notEqual(seen.get("unguard setPriority"), "ALLOWED");
    assert.notEqual(seen.get("reassign setPriority"), "ALLOWED");
    assert.notEqual(seen.get("unguard _debugProcess"), "ALLOWED");
  });

  test("ESM: named and namespace imports of node:os see the guard too", async () => {
    const seen = await outcomes(`${ATTEMPT}
      import { setPriority } from "node:os";
      import * as osNs from "node:os";
      import os from "node:os";
      attempt("named import", () => setPriority(process.ppid, 19));
      attempt("namespace import", () => osNs.setPriority(process.ppid, 19));
      attempt("default import", () => os.setPriority(process.ppid, 19));
      attempt("dynamic import", () => { throw { code: "PENDING" }; });
      const dynamic = await import("node:os");
      attempt("dynamic import then", () => dynamic.setPriority(process.ppid, 19));
      attempt("_debugProcess parent", () => process._debugProcess(process.ppid));
      console.log("done");`, "analysis.mjs");
    for (const name of ["named import", "namespace import", "default import", "dynamic import then", "_debugProcess parent"]) {
      assert.equal(seen.get(name), "ERR_ACCESS_DENIED", `${name}: ${JSON.stringify([...seen])}`);
    }
  });
});

describe("an analysis loads the SDK and nothing else of Sluice's node_modules", () => {
  test("CJS: require of ws, better-sqlite3 and mqtt fails; the SDK loads", async () => {
    const seen = await outcomes(`${ATTEMPT}
      attempt("ws", () => require("ws"));
      attempt("better-sqlite3", () => require("better-sqlite3"));
      attempt("mqtt", () => require("mqtt"));
      attempt("sdk", () => { if (typeof require("@tago-io/sdk").Analysis !== "function") throw new Error("no Analysis"); });
      // The SDK's own dependencies still resolve for it.
      attempt("sdk dependency", () => require("nanoid"));
      // No link leads out of the readable directories: ".." past one stays inside them.
      attempt("read beside the SDK", () => require("node:fs").readFileSync(require.resolve("@tago-io/sdk").replace(/@tago-io[/]sdk.*/, "ws/package.json")));
      console.log("done");`);
    for (const name of ["ws", "better-sqlite3", "mqtt", "read beside the SDK"]) {
      assert.match(seen.get(name) ?? "", /^(MODULE_NOT_FOUND|ERR_ACCESS_DENIED|ENOENT)$/, `${name}: ${JSON.stringify([...seen])}`);
    }
    assert.equal(seen.get("sdk"), "ALLOWED", JSON.stringify([...seen]));
    assert.equal(seen.get("sdk dependency"), "ALLOWED", JSON.stringify([...seen]));
  });

  test("ESM: import() of ws and mqtt fails; the SDK imports", async () => {
    const seen = await outcomes(`
      import sdk from "@tago-io/sdk";
      for (const name of ["ws", "mqtt", "better-sqlite3"]) {
        try { await import(name); console.log(name, "ALLOWED"); } catch (e) { console.log(name, e.code || e.message); }
      }
      console.log("sdk", typeof sdk.Analysis === "function" ? "ALLOWED" : "MISSING");
      console.log("done");`, "analysis.mjs");
    for (const name of ["ws", "mqtt", "better-sqlite3"]) {
      assert.match(seen.get(name) ?? "", /^(ERR_MODULE_NOT_FOUND|ERR_ACCESS_DENIED)$/, `${name}: ${JSON.stringify([...seen])}`);
    }
    assert.equal(seen.get("sdk"), "ALLOWED");
  });
});

describe("under root, an analysis runs as an unprivileged user", { skip: process.getuid?.() !== 0 && "Sluice is not running as root" }, () => {
  test("its uid is not 0, and the kernel itself keeps it from Sluice's memory and signals", async () => {
    const seen = await outcomes(`${ATTEMPT}
      console.log("uid", process.getuid());
      console.log("gid", process.getgid());
      console.log("ppid", process.ppid);
      attempt("parent environ", () => require("node:fs").readFileSync("/proc/" + process.ppid + "/environ"));
      console.log("done");`);
    assert.equal(seen.get("uid"), "65534");
    assert.equal(seen.get("gid"), "65534");
    assert.equal(seen.get("ppid"), String(process.pid));
    assert.equal(seen.get("parent environ"), "ERR_ACCESS_DENIED");
    // Without the permission model or the guard, the same calls as that user: the kernel refuses.
    const bare = spawnSync(process.execPath, ["-e", `
      const t = (n, f) => { try { f(); console.log(n, "ALLOWED"); } catch (e) { console.log(n, e.info?.code ?? e.code); } };
      t("environ", () => require("fs").readFileSync("/proc/${process.pid}/environ"));
      t("kill", () => process.kill(${process.pid}, 0));
      t("setPriority", () => require("os").setPriority(${process.pid}, 19));`], { uid: 65534, gid: 65534, encoding: "utf8", cwd: "/" });
    const [environ, kill, priority] = bare.stdout.trim().split("\n");
    assert.equal(environ, "environ EACCES", bare.stderr);
    assert.equal(kill, "kill EPERM", bare.stderr);
    assert.match(priority ?? "", /^setPriority (EPERM|EACCES)$/, bare.stderr);
  });
});
