// The Live Inspector in a real browser (Sluice only): how long from a device's PUBLISH to its row
// in the console's Live Inspector, at 10, 100 and 1 000 messages/s, and whether the page stays
// smooth (long tasks) while rows pour in. Chromium (Debian's, through playwright-core) signs in
// as a user of the admin account and opens the device's inspector; an MQTT.js client publishes
// QoS 0 messages whose payload carries the publisher's clock (`ts=<Date.now()> seq=<n>`). In the
// page, a MutationObserver on the list reads each row as it is added to the DOM and records
// `Date.now() - ts`: both clocks are this machine's. The row is then painted in the same frame.
// Targets (issue 12): p99 ≤ 100 ms at 100/s; no long task over 50 ms at 1 000/s.
import { setTimeout as sleep } from "node:timers/promises";
import mqtt from "mqtt";
import { chromium, type Browser, type Page } from "playwright-core";
import type { InspectorLatencyPhase, InspectorLatencyResult } from "../results.js";
import { SluiceApi } from "../sluice_api.js";
import type { Scenario } from "./context.js";

const CHROMIUM = process.env["SLUICE_CHROMIUM"] ?? "/usr/bin/chromium";
/** Rates (messages/s) and how long each is held: long enough for a p99 at the low rates. */
const PHASES: { rate: number; seconds: number }[] = [
  { rate: 10, seconds: 10 },
  { rate: 100, seconds: 6 },
  { rate: 1000, seconds: 6 },
];
/** After the last message of a phase: rows still on their way. */
const DRAIN_MS = 2000;
const USER = { email: "bench@example.com", name: "Bench", password: "bench-password-1" };

/** What the page records: per sequence number, the latency of its row; the long tasks. */
const INSTRUMENT = `(() => {
  const bench = { latency: new Map(), longTasks: [] };
  window.__bench = bench;
  const pattern = /ts=(\\d+) seq=(\\d+)/;
  new MutationObserver((records) => {
    const now = Date.now();
    for (const record of records) for (const node of record.addedNodes) {
      const match = pattern.exec(node.textContent || "");
      if (match && !bench.latency.has(Number(match[2]))) bench.latency.set(Number(match[2]), now - Number(match[1]));
    }
  }).observe(document.querySelector(".insp-vlist"), { childList: true, subtree: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) bench.longTasks.push({ at: performance.timeOrigin + entry.startTime, ms: entry.duration });
  }).observe({ type: "longtask" });
})()`;

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Publishes `rate` messages/s for `seconds`, paced against the clock (not a timer per message). */
async function publishPaced(client: mqtt.MqttClient, topic: string, rate: number, seconds: number, firstSeq: number): Promise<number> {
  const total = Math.round(rate * seconds);
  const start = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) * rate) / 1000) + 1);
    while (sent < due) {
      client.publish(topic, `ts=${Date.now()} seq=${firstSeq + sent}`, { qos: 0 });
      sent++;
    }
    await sleep(Math.max(1, Math.min(10, 1000 / rate)));
  }
  return sent;
}

async function signedInPage(browser: Browser, base: string): Promise<Page> {
  // Tall enough that a frame's worth of rows at 1 000/s (and the overscan) is all rendered.
  const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const login = await context.request.post(`${base}/account/login`, { data: { email: USER.email, password: USER.password }, headers: { "x-sluice-csrf": "1" } });
  if (!login.ok()) throw new Error(`sign-in failed: HTTP ${login.status()} ${await login.text()}`);
  return context.newPage();
}

export const inspectorLatencyScenario: Scenario<InspectorLatencyResult> = {
  name: "inspector",
  title: "console: publish → row in the Live Inspector (Chromium), p50/p99 and long tasks",
  only: { kinds: ["sluice"], reason: "the console is Sluice's" },
  initial: () => ({ kind: "inspector", phases: [] }),
  async run(target, ctx, result) {
    if (!target.api) throw new Error("the Sluice target has no API");
    const api = new SluiceApi(target.host, target.api.port, target.api.adminToken);
    const base = `http://${target.host}:${target.api.port}`;
    const device = await api.createDevice({ name: "bench inspector" });
    await api.request("POST", "/account/user", USER);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
    const client = mqtt.connect(`mqtt://${target.host}:${target.port}`, { username: "Token", password: device.token, clientId: "bench-inspector", reconnectPeriod: 0 });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        client.once("error", reject);
      });
      const page = await signedInPage(browser, base);
      await page.goto(`${base}/#/devices/${device.id}/inspector`);
      await page.getByRole("status").filter({ hasText: "Live" }).waitFor({ timeout: 20_000 });
      await page.evaluate(INSTRUMENT);
      let seq = 0;
      for (const { rate, seconds } of PHASES) {
        const first = seq;
        const started = Date.now();
        const sent = await publishPaced(client, "bench/inspector", rate, seconds, first);
        seq += sent;
        await sleep(DRAIN_MS);
        const seen = await page.evaluate(
          ({ from, to, since }) => {
            const bench = (window as unknown as { __bench: { latency: Map<number, number>; longTasks: { at: number; ms: number }[] } }).__bench;
            const latencies: number[] = [];
            for (let s = from; s < to; s++) {
              const ms = bench.latency.get(s);
              if (ms !== undefined) latencies.push(ms);
            }
            return { latencies, longTasks: bench.longTasks.filter((t) => t.at >= since).map((t) => t.ms) };
          },
          { from: first, to: first + sent, since: started },
        );
        const sorted = seen.latencies.sort((a, b) => a - b);
        const phase: InspectorLatencyPhase = {
          rate,
          seconds,
          sent,
          seen: sorted.length,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          maxMs: sorted.at(-1),
          longTasks: seen.longTasks.length,
          longestTaskMs: seen.longTasks.reduce((m, t) => Math.max(m, t), 0),
        };
        result.phases.push(phase);
        ctx.log(
          `${rate}/s for ${seconds} s: ${phase.seen}/${sent} rows seen, p50 ${phase.p50Ms ?? "-"} ms, p99 ${phase.p99Ms ?? "-"} ms, max ${phase.maxMs ?? "-"} ms; ` +
            `${phase.longTasks} long tasks${phase.longTasks > 0 ? ` (longest ${phase.longestTaskMs.toFixed(0)} ms)` : ""}`,
        );
      }
    } finally {
      client.end(true);
      await browser.close();
    }
  },
};
