// Publish/subscribe scenarios (1→1, fan-in, fan-out). Each runs three phases against one
// freshly started broker, each phase on fresh connections:
//   saturation — publishers write as fast as the broker reads; delivered msgs/s is the score;
//   latency    — a fixed rate below that saturation point; p99 of publish→delivery time;
//   overload   — a multiple of the saturation rate; the broker must keep answering.
import { setTimeout as sleep } from "node:timers/promises";
import { LoadAgent } from "../load/remote.js";
import { probe, type ProbeResult } from "../probe.js";
import { waitUntilIdle } from "../proc.js";
import type { ThroughputResult } from "../results.js";
import type { Credentials } from "../load/protocol.js";
import type { RunningTarget } from "../targets.js";
import type { Scenario, ScenarioContext } from "./context.js";

export interface Topology {
  name: string;
  title: string;
  publishTopics: string[];
  subscribeFilters: string[];
}

const PACED_WARMUP_MS = 500;
/** How long the backlog may take to clear after a paced phase (reported, not required). */
const QUIESCE_TIMEOUT_MS = 3_000;
const SETUP_TIMEOUT_MS = 30_000;
/** Longest wait for the broker to work through what a previous phase left in its sockets. */
const IDLE_TIMEOUT_MS = 30_000;

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export const topologies: Topology[] = [
  {
    name: "one-to-one",
    title: "1 publisher → 1 subscriber",
    publishTopics: ["bench/one"],
    subscribeFilters: ["bench/one"],
  },
  {
    name: "fan-in",
    title: "100 publishers → 1 subscriber on bench/#",
    publishTopics: range(100).map((i) => `bench/in/${i}`),
    subscribeFilters: ["bench/#"],
  },
  {
    name: "fan-out",
    title: "1 publisher → 100 subscribers",
    publishTopics: ["bench/out"],
    subscribeFilters: range(100).map(() => "bench/out"),
  },
];

function describeRate(phaseRate: number): string {
  return `${Math.round(phaseRate).toLocaleString("en-US")} msg/s`;
}

/** Below this fraction of another target's saturation rate, a saturation result is a collapse. */
const COLLAPSED = 0.1;

/**
 * The publish rate the paced phases are scaled from. A broker that accepts input faster than it
 * delivers can collapse under the unbounded blast (deliver next to nothing); scaling its latency
 * and overload phases from that would test nothing, so a target measured earlier in the run lends
 * its rate instead, and the report says so.
 */
function basisRate(own: number, ctx: ScenarioContext, result: ThroughputResult): number {
  let reference: { slot: string; rate: number } | null = null;
  for (const run of ctx.earlier) {
    const sat = run.result?.kind === "throughput" ? run.result.saturation : undefined;
    if (sat === undefined) continue;
    const rate = sat.deliveredPerS / result.fanout;
    if (reference === null || rate > reference.rate) reference = { slot: run.slot, rate };
  }
  if (reference !== null && own < reference.rate * COLLAPSED) {
    result.rateBasis = `${reference.slot} saturation (own saturation collapsed)`;
    ctx.log(`saturation collapsed; latency and overload phases use ${reference.slot}'s saturation rate`);
    return reference.rate;
  }
  if (own <= 0) throw new Error("nothing was delivered at saturation");
  result.rateBasis = "own saturation";
  return own;
}

/**
 * Every phase gets fresh connections, and the previous ones are reset (RST) rather than drained:
 * at saturation the kernel's socket buffers hold seconds' worth of messages, and draining them
 * would both waste minutes and leak old traffic into the next phase. After the reset we wait
 * until the broker's CPU use drops, i.e. it has discarded whatever was still in its sockets.
 */
export async function freshClients(
  agent: LoadAgent,
  topology: Topology,
  target: RunningTarget,
  ctx: ScenarioContext,
  credentials?: { publish: Credentials[]; subscribe: Credentials[] },
): Promise<number> {
  await agent.reset();
  if ((await waitUntilIdle(target.pid, IDLE_TIMEOUT_MS)) === null && target.exitReason() === null) {
    ctx.log(`warning: broker still busy ${IDLE_TIMEOUT_MS / 1000} s after the previous phase`);
  }
  const setup = await agent.setup(
    {
      host: target.host,
      port: target.port,
      brokerPid: target.pid,
      publishTopics: topology.publishTopics,
      subscribeFilters: topology.subscribeFilters,
      publishCredentials: credentials?.publish,
      subscribeCredentials: credentials?.subscribe,
    },
    SETUP_TIMEOUT_MS,
  );
  return setup.connectMs;
}

async function run(topology: Topology, target: RunningTarget, ctx: ScenarioContext, result: ThroughputResult): Promise<void> {
  const { config } = ctx;
  const agent = LoadAgent.start(ctx.generatorCpus);
  try {
    const measureMs = config.durationS * 1000;

    result.setupMs = await freshClients(agent, topology, target, ctx);
    const saturation = await agent.phase({
      mode: "blast",
      rate: 0,
      warmupMs: config.warmupS * 1000,
      measureMs,
      latency: false,
      quiesceTimeoutMs: 0,
    });
    result.saturation = saturation;
    ctx.log(`saturation: ${describeRate(saturation.deliveredPerS)} delivered`);
    // Rates for the later phases are in PUBLISH packets; each one is delivered `fanout` times.
    const saturatedPublishRate = basisRate(saturation.deliveredPerS / result.fanout, ctx, result);

    const latencyRate = saturatedPublishRate * config.latencyLoad;
    await freshClients(agent, topology, target, ctx);
    const latency = await agent.phase({
      mode: "paced",
      rate: latencyRate,
      warmupMs: PACED_WARMUP_MS,
      measureMs,
      latency: true,
      quiesceTimeoutMs: QUIESCE_TIMEOUT_MS,
    });
    result.latency = { rate: latencyRate, phase: latency };
    ctx.log(
      `latency at ${describeRate(latencyRate)} published: p99 ${latency.latency?.p99Ms.toFixed(2)} ms, ` +
        `${describeRate(latency.deliveredPerS)} delivered`,
    );

    const overloadRate = saturatedPublishRate * config.overloadFactor;
    await freshClients(agent, topology, target, ctx);
    const overloadPromise = agent.phase({
      mode: "paced",
      rate: overloadRate,
      warmupMs: PACED_WARMUP_MS,
      measureMs,
      latency: false,
      quiesceTimeoutMs: QUIESCE_TIMEOUT_MS,
    });
    // Probe from this process while the generator keeps the broker overloaded.
    const probeDuring: Promise<ProbeResult> = sleep(PACED_WARMUP_MS + measureMs / 2).then(() =>
      probe(target.host, target.port),
    );
    const [overload, during] = await Promise.all([overloadPromise, probeDuring]);
    await agent.reset();
    await waitUntilIdle(target.pid, IDLE_TIMEOUT_MS);
    const after = await probe(target.host, target.port);
    const survived = target.exitReason() === null && after.ok;
    result.overload = { rate: overloadRate, phase: overload, probeDuring: during, probeAfter: after, survived };
    ctx.log(
      `overload at ${describeRate(overloadRate)} offered: ${describeRate(overload.sentPerS)} accepted, ` +
        `${describeRate(overload.deliveredPerS)} delivered, ` +
        `${survived ? "still answering" : `NOT answering (${target.exitReason() ?? after.error})`}`,
    );
  } finally {
    await agent.stop();
  }
}

export function throughputScenario(topology: Topology): Scenario<ThroughputResult> {
  return {
    name: topology.name,
    title: topology.title,
    initial: () => ({
      kind: "throughput",
      publishers: topology.publishTopics.length,
      subscribers: topology.subscribeFilters.length,
      fanout: topology.subscribeFilters.length,
      setupMs: 0,
    }),
    run: (target, ctx, partial) => run(topology, target, ctx, partial),
  };
}
