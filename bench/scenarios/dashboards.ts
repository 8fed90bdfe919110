// Dashboards (Sluice only): a line chart over a year of one device's data, downsampled by the
// server. BENCH_DASHBOARD_RECORDS records (default 1 000 000) of one variable, evenly spread
// over a year, are stored through `POST /device/:id/data`; a dashboard with one line widget
// reading them is created; then `GET /data/:dashboard/:widget?start_date&end_date&buckets=600`
// is timed (what a 600-pixel chart asks), while `GET /status` is polled beside it to show how
// long the query holds the event loop (it yields between its time buckets). Wall times on a
// shared machine move with its load; the broker's CPU time per query (from /proc) does much less.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { cpuSeconds, waitUntilIdle } from "../proc.js";
import type { DashboardsResult } from "../results.js";
import { mapLimit, SluiceApi } from "../sluice_api.js";
import type { Scenario } from "./context.js";

const YEAR_MS = 365 * 86_400_000;
const START = Date.parse("2025-01-01T00:00:00Z");
const BUCKETS = 600;
/** Records per POST: ~50 bytes each, under the 200 KiB body bound. */
const BATCH = 3000;
const QUERIES = 10;
/** Queries run again while `GET /status` is polled every STATUS_EVERY_MS. */
const POLLED_QUERIES = 3;
const STATUS_EVERY_MS = 10;
const CONCURRENCY = 4;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? 0;

export const dashboardsScenario: Scenario<DashboardsResult> = {
  name: "dashboards",
  title: `dashboards: a year of records downsampled to ${BUCKETS} buckets for one chart`,
  only: { kinds: ["sluice"], reason: "dashboards are Sluice's" },
  initial: (config) => ({ kind: "dashboards", records: config.dashboardRecords, buckets: BUCKETS, queryMs: [] }),
  async run(target, ctx, result) {
    if (!target.api) throw new Error("the Sluice target has no API");
    const api = new SluiceApi(target.host, target.api.port, target.api.adminToken);
    // Two devices with the same year: one read cold, one behind the saved chart (a cold read
    // leaves its hours summarized, which would flatter the chart).
    const device = await api.createDevice({ name: "bench chart" });
    const coldDevice = await api.createDevice({ name: "bench cold" });
    const n = result.records;
    const step = YEAR_MS / n;

    const fillStarted = performance.now();
    for (const id of [device.id, coldDevice.id]) {
      const batches = Array.from({ length: Math.ceil(n / BATCH) }, (_, b) => b);
      await mapLimit(batches, CONCURRENCY, async (b) => {
        const records = [];
        for (let i = b * BATCH; i < Math.min(n, (b + 1) * BATCH); i++) {
          records.push({ variable: "temperature", value: Math.round((20 + 8 * Math.sin(i / 5000) + (i % 7) / 10) * 100) / 100, time: Math.floor(START + i * step) });
        }
        await api.request("POST", `/device/${id}/data`, records);
      });
      const stored = await api.dataAmount(id);
      if (stored !== n) throw new Error(`stored ${stored} records of ${n}`);
    }
    result.fillMs = (performance.now() - fillStarted) / 2;
    ctx.log(`stored ${n.toLocaleString("en-US")} records per device in ${(result.fillMs / 1000).toFixed(1)} s (${Math.round(n / (result.fillMs / 1000)).toLocaleString("en-US")} records/s)`);

    const range = `start_date=${new Date(START).toISOString()}&end_date=${new Date(START + YEAR_MS - 1).toISOString()}&buckets=${BUCKETS}`;
    const check = (buckets: { count: number }[]) => {
      const counted = buckets.reduce((sum, b) => sum + b.count, 0);
      if (buckets.length !== BUCKETS || counted !== n) throw new Error(`answered ${buckets.length} buckets holding ${counted} records`);
    };
    const timed = async (run: () => Promise<void>): Promise<{ ms: number; cpuMs: number | undefined }> => {
      await waitUntilIdle(target.pid, 30_000);
      const cpu = cpuSeconds(target.pid);
      const t = performance.now();
      await run();
      const ms = performance.now() - t;
      const after = cpuSeconds(target.pid);
      return { ms, cpuMs: cpu !== null && after !== null ? (after - cpu) * 1000 : undefined };
    };

    // Cold: the device's own downsample before any chart names it (no hour summary kept: every
    // record is read).
    const cold = await timed(async () => {
      check((await api.request<{ count: number }[]>("GET", `/device/${coldDevice.id}/data?query=downsample&variables=temperature&${range}`)));
    });
    result.coldMs = cold.ms;
    result.coldCpuMs = cold.cpuMs;

    // The chart saved: its dashboard has the year's hours summarized in the background
    // (dashboards/warm_charts.ts); its first view then reads summaries.
    const { dashboard } = await api.request<{ dashboard: string }>("POST", "/dashboard", { label: "bench chart" });
    const { widget } = await api.request<{ widget: string }>("POST", `/dashboard/${dashboard}/widget`, {
      label: "temperature", type: "line", display: {},
      data: [{ origin: device.id, variables: ["temperature"], start_date: new Date(START).toISOString(), end_date: new Date(START + YEAR_MS - 1).toISOString() }],
    });
    const path = `/data/${dashboard}/${widget}?${range}`;
    const first = await timed(async () => {
      check((await api.request<{ result: { result: { count: number }[] }[] }>("GET", path)).result[0]!.result);
    });
    result.firstMs = first.ms;
    result.firstCpuMs = first.cpuMs;
    await waitUntilIdle(target.pid, 30_000);
    const cpu0 = cpuSeconds(target.pid);
    for (let i = 0; i < QUERIES; i++) {
      const t = performance.now();
      check((await api.request<{ result: { result: { count: number }[] }[] }>("GET", path)).result[0]!.result);
      result.queryMs.push(performance.now() - t);
    }
    const cpu1 = cpuSeconds(target.pid);
    if (cpu0 !== null && cpu1 !== null) result.cpuMsPerQuery = ((cpu1 - cpu0) * 1000) / QUERIES;

    // The event loop meanwhile: a light poll (one GET /status every 10 ms), not a competing load.
    const status: number[] = [];
    let querying = true;
    const poll = (async () => {
      while (querying) {
        const t = performance.now();
        await api.request("GET", "/status");
        status.push(performance.now() - t);
        await sleep(STATUS_EVERY_MS);
      }
    })();
    try {
      for (let i = 0; i < POLLED_QUERIES; i++) check((await api.request<{ result: { result: { count: number }[] }[] }>("GET", path)).result[0]!.result);
    } finally {
      querying = false;
      await poll;
    }
    result.medianMs = median(result.queryMs);
    result.p95Ms = quantile(result.queryMs, 0.95);
    result.statusMaxMs = Math.max(...status);
    result.statusP99Ms = quantile(status, 0.99);
    ctx.log(
      `${BUCKETS} buckets over ${n.toLocaleString("en-US")} records: cold (no chart saved, every record read) ${result.coldMs.toFixed(0)} ms ` +
        `(broker CPU ${result.coldCpuMs?.toFixed(0) ?? "?"} ms); the saved chart's first view ${result.firstMs.toFixed(0)} ms ` +
        `(broker CPU ${result.firstCpuMs?.toFixed(0) ?? "?"} ms), then median ${result.medianMs.toFixed(0)} ms, ` +
        `p95 ${result.p95Ms.toFixed(0)} ms (${QUERIES} runs), broker CPU ${result.cpuMsPerQuery?.toFixed(0) ?? "?"} ms per query; ` +
        `GET /status meanwhile: p99 ${result.statusP99Ms.toFixed(1)} ms, max ${result.statusMaxMs.toFixed(1)} ms`,
    );
  },
};
