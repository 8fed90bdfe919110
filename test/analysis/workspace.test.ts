import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ensureSdkView } from "../../src/analysis/sdk_view.js";
import { openAnalysisWorkspace } from "../../src/analysis/workspace.js";

// Issue: the SDK view (~7 MB) was copied synchronously at every start, and workspaces of killed
// Sluices piled up in the temporary directory.

const dataDir = mkdtempSync(join(tmpdir(), "sluice-ws-test-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));
const config = { runAsUid: 65534, runAsGid: 65534 };

describe("the analysis workspace", () => {
  test("opening copies nothing; the first prepareSdk builds the view, later starts reuse it", async () => {
    const started = Date.now();
    const first = openAnalysisWorkspace(dataDir, config);
    const openMs = Date.now() - started;
    try {
      assert.ok(openMs < 1000, `open took ${openMs} ms`);
      await Promise.all([first.prepareSdk(), first.prepareSdk()]);
      assert.ok(existsSync(join(first.sdkModules, "@tago-io", "sdk", "package.json")));
      const stamp = statSync(join(first.sdkModules, ".sluice-sdk-view"));
      const second = openAnalysisWorkspace(dataDir, config);
      try {
        assert.equal(second.sdkModules, first.sdkModules, "one view per SDK closure");
        await second.prepareSdk();
        assert.equal(statSync(join(second.sdkModules, ".sluice-sdk-view")).mtimeMs, stamp.mtimeMs, "the cached view is reused, not rebuilt");
      } finally {
        second.dispose();
      }
    } finally {
      first.dispose();
    }
  });

  test("a view that no longer matches its stamp is rebuilt", async () => {
    // On a home of its own: the shared cache may be in use by other tests.
    const home = mkdtempSync(join(tmpdir(), "sluice-ws-view-"));
    try {
      const view = await ensureSdkView(home);
      rmSync(join(view, "nanoid"), { recursive: true, force: true });
      await ensureSdkView(home);
      assert.ok(existsSync(join(view, "nanoid", "package.json")));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("under root, the workspaces of Sluices that are gone are removed at start", { skip: process.getuid?.() !== 0 && "not root" }, async () => {
    const ws = openAnalysisWorkspace(dataDir, config);
    const keyed = join(ws.root, "..");
    // A pid that is not running: above the kernel's pid_max.
    const staleRun = join(keyed, "run-99999999-abcdef");
    const staleFallback = join(tmpdir(), "sluice-analyses-99999999-abcdef");
    const oldStyle = join(tmpdir(), "sluice-analyses-zzzzzz"); // an older Sluice's: no pid, left alone
    for (const dir of [staleRun, staleFallback, oldStyle]) mkdirSync(dir, { recursive: true });
    ws.dispose();
    const next = openAnalysisWorkspace(dataDir, config);
    try {
      const deadline = Date.now() + 5000;
      while ((existsSync(staleRun) || existsSync(staleFallback)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(existsSync(staleRun), false);
      assert.equal(existsSync(staleFallback), false);
      assert.equal(existsSync(oldStyle), true);
      assert.ok(existsSync(next.root));
      assert.equal(existsSync(ws.root), false, "dispose removed the start's own root");
      assert.ok(readdirSync(keyed).some((name) => name.startsWith("run-")));
    } finally {
      rmSync(oldStyle, { recursive: true, force: true });
      next.dispose();
    }
  });
});
