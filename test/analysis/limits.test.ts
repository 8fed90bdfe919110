import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { call, consoleLine, createAnalysis, resourcesOf, waitFor } from "../helpers/analysis.js";

// Runaway analyses under run mode "sluice": each limit stops a real process.

let sluice: TestSluice;
const SECRET = "sluice-secret-that-analyses-must-not-see";
before(async () => {
  // Sluice's own environment holds something an analysis must not read.
  process.env.SLUICE_TEST_SECRET = SECRET;
  sluice = await startSluice({
    analysis: { ...defaultConfig.analysis, timeoutMs: 2000, memoryMb: 128, outputBytes: 64 * 1024, concurrency: 4 },
  });
});
after(async () => {
  delete process.env.SLUICE_TEST_SECRET;
  await sluice.close();
});

const noRunsLeft = () => waitFor(async () => (await call(sluice, "GET", "/analysis/runs")).body.result.length === 0, 15_000, "the runs to end");

describe("limits of a run", () => {
  test("an infinite loop is killed at the wall time", async () => {
    const { id } = await createAnalysis(resourcesOf(sluice), `console.log("looping"); for (;;) {}`);
    const started = Date.now();
    await resourcesOf(sluice).analysis.run(id);
    await consoleLine(sluice, id, /stopped: it ran longer than 2 s/);
    const took = Date.now() - started;
    assert.ok(took >= 1900 && took < 8000, `took ${took} ms`);
  });

  test("CPU time is bounded by the kernel, not only by the wall-time timer", async () => {
    const cpuBound = await startSluice({ analysis: { ...defaultConfig.analysis, timeoutMs: 30_000, cpuSeconds: 1 } });
    try {
      const { id } = await createAnalysis(resourcesOf(cpuBound), `for (;;) {}`);
      await resourcesOf(cpuBound).analysis.run(id);
      await consoleLine(cpuBound, id, /stopped: it used more than 1 s of CPU time/);
    } finally {
      await cpuBound.close();
    }
  });

  test("a heap memory bomb is stopped by the memory limit", async () => {
    const { id } = await createAnalysis(resourcesOf(sluice), `const keep = []; for (;;) keep.push({ a: Math.random(), b: "x".repeat(64) + Math.random() });`);
    await resourcesOf(sluice).analysis.run(id);
    await consoleLine(sluice, id, /stopped: it used more than 128 MiB/);
  });

  test("a Buffer memory bomb (outside the V8 heap) is stopped by the resident-memory watch", async () => {
    const { id } = await createAnalysis(
      resourcesOf(sluice),
      `const keep = []; setInterval(() => { for (let i = 0; i < 8; i++) keep.push(Buffer.alloc(4 * 1024 * 1024, 1)); }, 10);`,
    );
    await resourcesOf(sluice).analysis.run(id);
    await consoleLine(sluice, id, /stopped: it used more than 128 MiB/);
  });

  test("an output flood is capped and the process stopped", async () => {
    // Yielding between writes: a synchronous loop never lets its output leave the process
    // (stdout to a pipe is asynchronous), so the wall time or the memory limit stops that one.
    const { id } = await createAnalysis(
      resourcesOf(sluice),
      `const line = "y".repeat(100); setInterval(() => { for (let i = 0; i < 50; i++) console.log(line); }, 1);`,
    );
    await resourcesOf(sluice).analysis.run(id);
    const lines = await consoleLine(sluice, id, /stopped: it wrote more than 65536 bytes/);
    const captured = lines.filter((l) => l.message.startsWith("y")).reduce((n, l) => n + l.message.length, 0); // newlines not counted
    assert.ok(captured <= 64 * 1024, `captured ${captured} bytes`);
    assert.ok(captured > 32 * 1024, `captured only ${captured} bytes`);
  });

  test("the data dir, Sluice's environment, child processes, workers and signals to others are out of reach", async () => {
    const code = `
      const fs = require("node:fs");
      const dataDir = JSON.parse(process.env.T_ANALYSIS_ENV)[0].value;
      const attempt = (name, fn) => { try { fn(); console.log(name, "ALLOWED"); } catch (e) { console.log(name, e.code || e.message); } };
      attempt("admin-token", () => fs.readFileSync(dataDir + "/admin-token", "utf8"));
      attempt("sluice.db", () => fs.readFileSync(dataDir + "/sluice.db"));
      attempt("readdir", () => fs.readdirSync(dataDir));
      attempt("parent environ", () => fs.readFileSync("/proc/" + process.ppid + "/environ", "utf8"));
      attempt("write", () => fs.writeFileSync(__dirname + "/dropped.txt", "x"));
      attempt("child_process", () => require("node:child_process").execSync("cat " + dataDir + "/admin-token"));
      attempt("worker", () => new (require("node:worker_threads").Worker)("1", { eval: true }));
      attempt("signal parent", () => process.kill(process.ppid, 0));
      attempt("raw signal parent", () => process._kill(process.ppid, 0));
      attempt("unguard", () => Object.defineProperty(process, "_kill", { value: () => 0 }));
      attempt("signal self", () => process.kill(process.pid, 0));
      console.log("env keys", Object.keys(process.env).sort().join(","));
      console.log("secret seen", JSON.stringify(process.env).includes(${JSON.stringify(SECRET)}));
      console.log("done");`;
    const { id } = await createAnalysis(resourcesOf(sluice), code, { variables: [{ key: "DATA_DIR", value: sluice.dataDir }] });
    await resourcesOf(sluice).analysis.run(id);
    const messages = (await consoleLine(sluice, id, /^done$/)).map((l) => l.message);
    for (const name of ["admin-token", "sluice.db", "readdir", "parent environ", "write", "child_process", "worker", "signal parent", "raw signal parent"]) {
      assert.ok(messages.includes(`${name} ERR_ACCESS_DENIED`), `${name}: ${JSON.stringify(messages)}`);
    }
    assert.ok(messages.includes("env keys TAGOIO_API,TAGOIO_SSE,T_ANALYSIS_CONTEXT,T_ANALYSIS_DATA,T_ANALYSIS_ENV,T_ANALYSIS_ID,T_ANALYSIS_TOKEN"), JSON.stringify(messages));
    assert.ok(messages.includes("secret seen false"));
    assert.ok(messages.some((m) => /^unguard Cannot redefine property/.test(m)), JSON.stringify(messages));
    assert.ok(messages.includes("signal self ALLOWED"), JSON.stringify(messages));
  });

  test("a scope too large for the environment is refused", async () => {
    const { id } = await createAnalysis(resourcesOf(sluice), `console.log(1)`);
    const { status, body } = await call(sluice, "POST", `/analysis/${id}/run`, { scope: [{ variable: "big", value: "z".repeat(130_000) }] });
    assert.equal(status, 400);
    assert.match(body.message, /scope is larger/);
    await noRunsLeft();
  });
});

describe("concurrency", () => {
  let small: TestSluice;
  before(async () => {
    small = await startSluice({ analysis: { ...defaultConfig.analysis, concurrency: 2, queueSize: 2 } });
  });
  after(async () => {
    await small.close();
  });

  test("at most `concurrency` runs at once; the next ones queue, visibly; past the queue, 429", async () => {
    const resources = resourcesOf(small);
    const { id } = await createAnalysis(resources, `console.log("start", Date.now()); setTimeout(() => console.log("end", Date.now()), 1500);`);
    for (let i = 0; i < 4; i++) assert.equal((await call(small, "POST", `/analysis/${id}/run`, { scope: [] })).status, 200);
    const refused = await call(small, "POST", `/analysis/${id}/run`, { scope: [] });
    assert.equal(refused.status, 429);
    assert.match(refused.body.message, /queue is full/);

    const runs = (await call(small, "GET", "/analysis/runs")).body.result as { analysis: string; status: string }[];
    assert.deepEqual(runs.map((r) => [r.analysis, r.status]), [[id, "running"], [id, "running"], [id, "queued"], [id, "queued"]]);
    assert.deepEqual((await call(small, "GET", `/analysis/${id}`)).body.result.runs, { running: 2, queued: 2 });

    // From the console: never more than two runs between their start and end lines.
    await waitFor(async () => (await call(small, "GET", "/analysis/runs")).body.result.length === 0, 20_000, "all runs to end");
    const lines = (await call(small, "GET", `/analysis/${id}/logs`)).body.result as { message: string }[];
    const events = lines.map((l) => l.message.split(" ")).map(([kind, at]) => ({ kind: kind!, at: Number(at) })).sort((a, b) => a.at - b.at);
    assert.equal(events.filter((e) => e.kind === "start").length, 4);
    let running = 0;
    let peak = 0;
    for (const e of events) {
      running += e.kind === "start" ? 1 : -1;
      peak = Math.max(peak, running);
    }
    assert.equal(peak, 2);
  });
});
