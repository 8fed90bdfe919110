import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import type { AnalysisRunEventJson, AnalysisRunJson, AnalysisScriptJson } from "../../src/http/api_types.js";
import { call, consoleLine, createAnalysis, resourcesOf, waitFor } from "../helpers/analysis.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { openStream } from "../helpers/sse_client.js";

// What the console's analysis page reads besides the analysis itself: the script back
// (`downloadScript`), the analysis's runs in the queue, and their changes live.

let sluice: TestSluice;
before(async () => {
  // One run at a time, so a second run visibly waits.
  sluice = await startSluice({ analysis: { ...defaultConfig.analysis, concurrency: 1, concurrencyPerAccount: 1 } });
});
after(async () => {
  await sluice.close();
});

describe("GET /analysis/:id/download", () => {
  test("the SDK's downloadScript gets the script as uploaded, in a data: URL, with its name and version", async () => {
    const code = `// é ünïcode\nconst { Analysis } = require("@tago-io/sdk");\nAnalysis.use((context) => context.log("hi"));\n`;
    const resources = resourcesOf(sluice);
    const { id } = await createAnalysis(resources, code, { fileName: "main.js" });
    const download = (await resources.analysis.downloadScript(id)) as unknown as AnalysisScriptJson;
    assert.match(download.url, /^data:text\/javascript;base64,/);
    assert.equal(Buffer.from(download.url.split(",")[1]!, "base64").toString("utf8"), code);
    assert.equal(download.size, Buffer.byteLength(code));
    assert.equal(download.size_unit, "B");
    assert.equal(download.file_name, "main.js");
    assert.equal(download.version, 1);
    assert.equal(download.expire_at, null);
    // The fetch a TagoIO-written caller makes with the URL works as it is.
    assert.equal(await (await fetch(download.url)).text(), code);

    assert.equal((await call(sluice, "GET", `/analysis/${id}/download?version=1`)).status, 200);
    const old = await call(sluice, "GET", `/analysis/${id}/download?version=7`);
    assert.equal(old.status, 404);
    assert.match(old.body.message, /only the current version of the script \(1\) is kept/);
  });

  test("an analysis without a script, or of another account, is a 404", async () => {
    const { id } = await resourcesOf(sluice).analysis.create({ name: "empty" });
    const none = await call(sluice, "GET", `/analysis/${id}/download`);
    assert.equal(none.status, 404);
    assert.match(none.body.message, /no script yet/);
    const other = await sluice.server.identity.issueAccountToken(await sluice.account(), { name: "other" });
    assert.equal((await call(sluice, "GET", `/analysis/${id}/download`, undefined, other.token)).status, 404);
  });
});

describe("the run queue of one analysis", () => {
  test("GET /analysis/:id/runs lists its running then queued runs; analysis_run.<id> tells each change live", async () => {
    const code = `const { Analysis } = require("@tago-io/sdk");\nAnalysis.use(async (context) => { await new Promise((r) => setTimeout(r, 400)); context.log("done"); });\n`;
    const { id } = await createAnalysis(resourcesOf(sluice), code, { name: "slow" });
    const other = await createAnalysis(resourcesOf(sluice), code, { name: "other" });
    const stream = await openStream(`${sluice.api}/events?channels=analysis_run.${id}&token=${sluice.adminToken}`);
    try {
      const first = (await call(sluice, "POST", `/analysis/${id}/run`, { scope: [] })).body.result.run as AnalysisRunJson;
      const second = (await call(sluice, "POST", `/analysis/${id}/run`, { scope: [] })).body.result.run as AnalysisRunJson;
      await call(sluice, "POST", `/analysis/${other.id}/run`, { scope: [] });
      const runs = (await call(sluice, "GET", `/analysis/${id}/runs`)).body.result as AnalysisRunJson[];
      assert.deepEqual(runs.map((r) => [r.id, r.status]), [[first.id, "running"], [second.id, "queued"]]);
      assert.ok(runs.every((r) => r.analysis === id));

      const seen: [number, string][] = [];
      while (seen.length < 6) {
        const event = JSON.parse((await stream.next(20_000)).data) as { channel: string; payload: AnalysisRunEventJson };
        assert.equal(event.channel, "analysis_run");
        assert.equal(event.payload.analysis, id);
        if (event.payload.status === "finished") assert.ok(event.payload.ended_at);
        seen.push([event.payload.id, event.payload.status]);
      }
      assert.deepEqual(seen, [
        [first.id, "queued"],
        [first.id, "running"],
        [second.id, "queued"],
        [first.id, "finished"],
        [second.id, "running"],
        [second.id, "finished"],
      ]);
    } finally {
      stream.close();
    }
    await consoleLine(sluice, other.id, /^done$/);
    await waitFor(async () => (await call(sluice, "GET", "/analysis/runs")).body.result.length === 0, 15_000, "the runs to end");
    assert.equal((await call(sluice, "GET", `/analysis/nope/runs`)).status, 404);
  });

  test("deleting an analysis drops its waiting runs, told as dropped", async () => {
    const code = `const { Analysis } = require("@tago-io/sdk");\nAnalysis.use(async () => { await new Promise((r) => setTimeout(r, 400)); });\n`;
    const blocker = await createAnalysis(resourcesOf(sluice), code, { name: "blocker" });
    const { id } = await createAnalysis(resourcesOf(sluice), code, { name: "to delete" });
    await call(sluice, "POST", `/analysis/${blocker.id}/run`, { scope: [] });
    const stream = await openStream(`${sluice.api}/events?channels=analysis_run.${id}&token=${sluice.adminToken}`);
    try {
      await call(sluice, "POST", `/analysis/${id}/run`, { scope: [] });
      assert.equal(JSON.parse((await stream.next(5000)).data).payload.status, "queued");
      await call(sluice, "DELETE", `/analysis/${id}`);
      const dropped = JSON.parse((await stream.next(5000)).data).payload as AnalysisRunEventJson;
      assert.equal(dropped.status, "dropped");
      assert.ok(dropped.ended_at);
    } finally {
      stream.close();
    }
    await waitFor(async () => (await call(sluice, "GET", "/analysis/runs")).body.result.length === 0, 15_000, "the runs to end");
  });
});
