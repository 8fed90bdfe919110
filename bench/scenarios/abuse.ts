// Bounded under abuse (issue 10), Sluice only. A well-behaved fan-in — 100 QoS 1 publishers
// (MQTT 5, one account's device token) → 1 subscriber on `bench/#`, at a fixed offered rate —
// is measured alone, then beside each abuse of bench/abuse.ts, on the same connections of a
// Sluice started for that abuse. Per abuse the report gives delivered msg/s and publish→PUBACK
// p99 with the abuse against alone.
// An abuse that the broker now refuses shows up as a ratio near 1: the bound protects the rest.
import { setTimeout as sleep } from "node:timers/promises";
import { ABUSES, type AbuseEnv } from "../abuse.js";
import { LoadAgent } from "../load/remote.js";
import type { Credentials, IngestPhaseResult } from "../load/protocol.js";
import { waitUntilIdle } from "../proc.js";
import type { AbuseResult, AbuseRow } from "../results.js";
import { SluiceApi } from "../sluice_api.js";
import { startTarget, type RunningTarget } from "../targets.js";
import type { Scenario, ScenarioContext } from "./context.js";

const PUBLISHERS = 100;
/** QoS 1 messages each publisher may have awaiting PUBACK. */
const WINDOW = 64;
const PAYLOAD = JSON.stringify([{ variable: "temperature", value: 21.5 }]);
const WARMUP_MS = 500;
/** After an abuse starts, before its window: lets it reach its steady state. */
const RAMP_MS = 1000;
const DRAIN_TIMEOUT_MS = 3_000;
/** Longest an abuse may take to stop before its broker is stopped anyway. */
const STOP_TIMEOUT_MS = 5_000;
const SETUP_TIMEOUT_MS = 60_000;
const IDLE_TIMEOUT_MS = 20_000;

const rateText = (n: number): string => Math.round(n).toLocaleString("en-US");

function abuseRate(): number {
  const raw = process.env["BENCH_ABUSE_RATE"];
  const n = raw === undefined || raw === "" ? 5000 : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`BENCH_ABUSE_RATE must be a positive number, got "${raw}"`);
  return n;
}

/** BENCH_ABUSES=name,name runs a subset (names as in bench/abuse.ts). */
function chosenAbuses(): typeof ABUSES {
  const raw = process.env["BENCH_ABUSES"];
  if (raw === undefined || raw.trim() === "") return ABUSES;
  const names = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const n of names) if (!ABUSES.some((a) => a.name === n)) throw new Error(`BENCH_ABUSES: unknown abuse "${n}" (known: ${ABUSES.map((a) => a.name).join(", ")})`);
  return ABUSES.filter((a) => names.includes(a.name));
}

function summary(phase: IngestPhaseResult): string {
  const p99 = phase.latency?.p99Ms;
  const extra = [phase.failed > 0 ? `${phase.failed} failed` : "", phase.unacked > 0 ? `${phase.unacked} unacked` : "", phase.lostConnections > 0 ? `${phase.lostConnections} lost` : ""].filter((x) => x !== "");
  return `${rateText(phase.deliveredPerS)} delivered/s, ${rateText(phase.ackedPerS)} acked/s, PUBACK p99 ${p99 === undefined ? "?" : p99.toFixed(2)} ms${extra.length > 0 ? ` (${extra.join(", ")})` : ""}`;
}

async function settle(target: RunningTarget, ctx: ScenarioContext): Promise<void> {
  if ((await waitUntilIdle(target.pid, IDLE_TIMEOUT_MS, 0.1)) === null && target.exitReason() === null) {
    ctx.log(`warning: broker still busy ${IDLE_TIMEOUT_MS / 1000} s after the previous phase`);
  }
}

/** Gives up on what does not end in time: a wedged broker is stopped anyway. */
async function within<T>(ms: number, work: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One freshly started Sluice per abuse: what an abuse leaves behind (sessions, queues, runs)
 * cannot weigh on the next one, and a broker an abuse wedged is simply stopped. The harness's
 * own target serves the first abuse.
 */
async function run(first: RunningTarget, ctx: ScenarioContext, result: AbuseResult): Promise<void> {
  const measureMs = ctx.config.durationS * 1000;
  const agent = LoadAgent.start(ctx.generatorCpus);
  try {
    let index = 0;
    for (const abuse of chosenAbuses()) {
      const row: AbuseRow = { name: abuse.name, title: abuse.title };
      result.rows.push(row);
      const target = index++ === 0 ? first : await startTarget({ slot: "sluice", kind: "sluice" }, { host: first.host, cpus: ctx.config.pin ? "0" : undefined, mosquittoNoDelay: false });
      try {
        if (target.api === undefined) throw new Error("this Sluice build wrote no HTTP port or admin token; cannot configure it");
        const api = new SluiceApi(target.host, target.api.port, target.api.adminToken);
        const { token: accountToken } = await api.request<{ token: string }>("POST", "/admin/account", { name: "bench baseline", plan: "unlimited" });
        const device = await api.request<{ token: string }>("POST", "/device", { name: "bench-baseline" }, accountToken);
        const credentials: Credentials = { username: "Token", password: device.token };
        const env: AbuseEnv = { host: target.host, port: target.port, api, httpPort: target.api.port, baselineToken: device.token, log: ctx.log };
        await agent.reset();
        await settle(target, ctx);
        await agent.ingestSetup(
          {
            host: target.host,
            port: target.port,
            brokerPid: target.pid,
            devices: Array.from({ length: PUBLISHERS }, (_, i) => ({ ...credentials, topic: `bench/in/${i}` })),
            payload: PAYLOAD,
            window: WINDOW,
            subscribers: [{ ...credentials, filter: "bench/#" }],
          },
          SETUP_TIMEOUT_MS,
        );
        const window = (): Promise<IngestPhaseResult> =>
          agent.ingestPhase({ mode: "paced", rate: result.rate, warmupMs: WARMUP_MS, measureMs, latency: true, drainTimeoutMs: DRAIN_TIMEOUT_MS });
        row.aloneBefore = await window();
        ctx.log(`${abuse.name}: alone ${summary(row.aloneBefore)}`);
        const running = await abuse.start(env);
        try {
          await sleep(RAMP_MS);
          row.withAbuse = await window();
          ctx.log(`${abuse.name}: with the abuse ${summary(row.withAbuse)}`);
        } finally {
          row.abuseNote = running.note();
          await within(STOP_TIMEOUT_MS, running.stop());
        }
        ctx.log(`${abuse.name}: abuse did ${row.abuseNote}`);
        finish(row);
        ctx.log(`${abuse.name}: throughput ×${row.throughputRatio?.toFixed(2) ?? "?"}, p99 ×${row.p99Ratio?.toFixed(2) ?? "?"}`);
      } catch (err) {
        row.error = err instanceof Error ? err.message : String(err);
        ctx.log(`${abuse.name}: error: ${row.error}`);
      } finally {
        if (target.exitReason() !== null) {
          row.error = `${row.error ?? ""}${row.error ? "; " : ""}broker ${target.exitReason()}`;
        }
        await agent.reset().catch(() => undefined);
        if (target !== first) await target.stop();
      }
    }
  } finally {
    await agent.stop();
  }
}

/** With the abuse over alone, on the same broker and connections. */
function finish(row: AbuseRow): void {
  const alone = row.aloneBefore;
  if (row.withAbuse === undefined || alone === undefined) return;
  if (alone.deliveredPerS > 0) row.throughputRatio = row.withAbuse.deliveredPerS / alone.deliveredPerS;
  const p99 = alone.latency?.p99Ms;
  const withP99 = row.withAbuse.latency && row.withAbuse.latency.count > 0 ? row.withAbuse.latency.p99Ms : undefined;
  if (p99 !== undefined && p99 > 0 && withP99 !== undefined) row.p99Ratio = withP99 / p99;
}

export const abuseScenario: Scenario<AbuseResult> = {
  name: "abuse",
  title: "abuse: QoS 1 fan-in (100 → 1) at a fixed rate, alone and beside each abuse of issue 10",
  only: { kinds: ["sluice"], reason: "the abuses exercise Sluice's accounts, actions and bounds" },
  initial: () => ({ kind: "abuse", publishers: PUBLISHERS, window: WINDOW, rate: abuseRate(), rows: [] }),
  run,
};
