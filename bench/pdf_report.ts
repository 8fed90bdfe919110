// How long a report's PDF takes: `node dist/bench/pdf_report.js [runs]` (after `npm run build`).
// Starts a Sluice on a temp data dir, stores 40 records (one device, two variables: a report of
// two A4 pages), then runs the report `runs` times through `POST /report/:id/run` after one
// warm-up run (which starts Chromium), and prints the run times: query, HTML, PDF, stored.
// Also times the analysis PDF service on the same HTML. Needs Chromium at pdf.chromiumPath.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pino } from "pino";
import { defaultConfig, type SluiceConfig } from "../src/config/schema.js";
import { startServer } from "../src/server.js";

const runs = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(join(tmpdir(), "sluice-bench-pdf-"));
const config: SluiceConfig = { ...structuredClone(defaultConfig), host: "127.0.0.1", mqttPort: 0, mqttsPort: 0, wsPort: 0, wssPort: 0, httpPort: 0, logLevel: "silent", dataDir: dir };
const server = await startServer(config, pino({ level: "silent" }));
const api = `http://127.0.0.1:${server.ports.http}`;
const token = server.adminToken!;

async function call(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${api}${path}`, { method, headers: { token, ...(body !== undefined && { "content-type": "application/json" }) }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const answer = (await response.json()) as { status: boolean; result: unknown; message: string };
  if (!answer.status) throw new Error(`${method} ${path}: ${answer.message}`);
  return answer.result;
}

/** Jobs one after another, as reports and analyses come: a pause, so that each is timed on its own. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 1000));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

try {
  const { device } = await server.identity.createDevice((await server.identity.authenticateAccount(token))!, { name: "Bench room" });
  const now = Date.now();
  const records = Array.from({ length: 20 }, (_, i) => [
    { variable: "temperature", value: 20 + Math.sin(i / 3) * 2, unit: "°C", time: new Date(now - (20 - i) * 5 * 60_000).toISOString() },
    { variable: "humidity", value: 50 + i, unit: "%", time: new Date(now - (20 - i) * 5 * 60_000).toISOString() },
  ]).flat();
  await call("POST", `/device/${device.id}/data`, records);
  const { id } = await call("POST", "/report", { name: "Bench", format: "pdf", query: { devices: [device.id], variables: ["temperature", "humidity"], range: "2 hours" } });

  let started = performance.now();
  const warm = await call("POST", `/report/${id}/run`);
  if (warm.status !== "ok") throw new Error(warm.message);
  console.log(`warm-up run (starts Chromium): ${Math.round(performance.now() - started)} ms`);
  const file = warm.files[0];
  const pdf = Buffer.from(await (await fetch(`${api}${file.url}`, { headers: { token } })).arrayBuffer());
  const pages = (pdf.toString("latin1").match(/\/Type\s*\/Page(?![A-Za-z])/g) ?? []).length;
  console.log(`the report: ${pages} pages, ${pdf.length} bytes`);

  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await pause();
    started = performance.now();
    const run = await call("POST", `/report/${id}/run`);
    if (run.status !== "ok") throw new Error(run.message);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`report run, ${runs} runs: p50 ${Math.round(percentile(times, 50))} ms, p95 ${Math.round(percentile(times, 95))} ms, min ${Math.round(times[0]!)} ms, max ${Math.round(times.at(-1)!)} ms`);

  const html = "<!doctype html><title>Two pages</title><h1>One</h1><div style='page-break-before:always'><h1>Two</h1></div>";
  const service: number[] = [];
  for (let i = 0; i < runs; i++) {
    await pause();
    started = performance.now();
    await call("POST", "/analysis/services/pdf/generate", { html });
    service.push(performance.now() - started);
  }
  service.sort((a, b) => a - b);
  console.log(`PDF service, a small 2-page HTML, ${runs} jobs: p50 ${Math.round(percentile(service, 50))} ms, p95 ${Math.round(percentile(service, 95))} ms`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
