// The cluster (issue 14; Sluice only): what routing over NATS costs. One publisher and one
// subscriber, QoS 0, 16-byte payloads, as in `one-to-one`, in three set-ups, each measured with
// the same two phases (saturation, then p99 latency at half of that set-up's saturation rate):
//   single          — the scenario's own Sluice, no cluster: the baseline;
//   single+cluster  — a Sluice started with --cluster (a nats-server beside it, no other node):
//                     both clients on it, so every message is also published on NATS;
//   cross-node      — two clustered Sluice nodes: the publisher on A, the subscriber on B, every
//                     message through NATS.
// The target: single+cluster delivers at least 80 % of single (the cluster's overhead on one
// node's throughput under 20 %), comparing the medians of alternating rounds.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { registerTempDir, releaseTempDir, startChild, stopChild } from "../children.js";
import { LoadAgent } from "../load/remote.js";
import { probe } from "../probe.js";
import { cpuSeconds, waitUntilIdle } from "../proc.js";
import type { ClusterResult, ClusterRun } from "../results.js";
import { startTarget, type RunningTarget } from "../targets.js";
import type { Scenario, ScenarioContext } from "./context.js";

const NATS_SERVER = ["/usr/sbin/nats-server", "/usr/local/bin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p));
const PACED_WARMUP_MS = 500;
const QUIESCE_TIMEOUT_MS = 3_000;
const IDLE_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 30_000;
/** Alternating rounds of the two single-node set-ups (BENCH_CLUSTER_ROUNDS). */
const ROUNDS = Math.max(1, Number(process.env["BENCH_CLUSTER_ROUNDS"] ?? 3) || 3);

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A nats-server with JetStream in a temp dir (the nodes keep retained messages in its KV). */
export async function startNats(host: string, cpus: string | undefined): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  if (!NATS_SERVER) throw new Error("nats-server not found (Debian package nats-server)");
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-nats-"));
  registerTempDir(dir);
  const port = await freePort(host);
  const monitor = await freePort(host);
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, `listen: "${host}:${port}"\nhttp: "${host}:${monitor}"\nmax_payload: 2MB\njetstream { store_dir: ${JSON.stringify(join(dir, "js"))} }\n`);
  const child = startChild(NATS_SERVER, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] }, cpus);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await fetch(`http://${host}:${monitor}/healthz`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error("nats-server did not start");
    await sleep(50);
  }
  return {
    url: `nats://${host}:${port}`,
    pid: child.pid!,
    async stop() {
      await stopChild(child);
      releaseTempDir(dir);
    },
  };
}

/** A clustered node answers CONNECT with 0x88 until it reached NATS and loaded retained messages. */
export async function untilTakingClients(target: RunningTarget): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if ((await probe(target.host, target.port)).ok) return;
    if (Date.now() > deadline) throw new Error(`${target.slot} did not take clients (is it connected to NATS?)`);
    await sleep(100);
  }
}

async function measure(run: ClusterRun, publishOn: RunningTarget, subscribeOn: RunningTarget, ctx: ScenarioContext, natsPid?: number): Promise<void> {
  const agent = LoadAgent.start(ctx.generatorCpus);
  const fresh = async (): Promise<void> => {
    await agent.reset();
    await waitUntilIdle(publishOn.pid, IDLE_TIMEOUT_MS);
    if (subscribeOn !== publishOn) await waitUntilIdle(subscribeOn.pid, IDLE_TIMEOUT_MS);
    await agent.setup({
      host: publishOn.host, port: publishOn.port, subscribePort: subscribeOn.port, brokerPid: publishOn.pid,
      publishTopics: ["bench/one"], subscribeFilters: ["bench/one"],
    }, READY_TIMEOUT_MS);
    // The subscriber's NATS subscription (cross-node) travels after its SUBACK: a moment for it.
    if (subscribeOn !== publishOn) await sleep(200);
  };
  try {
    const measureMs = ctx.config.durationS * 1000;
    await fresh();
    // nats-server's share of the machine while it carries the blast (read around the phase).
    const natsBefore = natsPid === undefined ? null : cpuSeconds(natsPid);
    const startedAt = performance.now();
    run.saturation = await agent.phase({ mode: "blast", rate: 0, warmupMs: ctx.config.warmupS * 1000, measureMs, latency: false, quiesceTimeoutMs: 0 });
    const natsAfter = natsPid === undefined ? null : cpuSeconds(natsPid);
    if (natsBefore !== null && natsAfter !== null) run.natsCpu = (natsAfter - natsBefore) / ((performance.now() - startedAt) / 1000);
    const rate = run.saturation.deliveredPerS * ctx.config.latencyLoad;
    if (rate <= 0) throw new Error(`${run.name}: nothing delivered at saturation`);
    await fresh();
    const phase = await agent.phase({ mode: "paced", rate, warmupMs: PACED_WARMUP_MS, measureMs, latency: true, quiesceTimeoutMs: QUIESCE_TIMEOUT_MS });
    run.latency = { rate, phase };
    ctx.log(`${run.name}: ${Math.round(run.saturation.deliveredPerS).toLocaleString("en-US")} msg/s delivered at saturation; p99 ${phase.latency?.p99Ms.toFixed(2) ?? "-"} ms at ${Math.round(rate).toLocaleString("en-US")} msg/s`);
  } finally {
    await agent.stop();
  }
}

export const clusterScenario: Scenario<ClusterResult> = {
  name: "cluster",
  title: "cluster over NATS: 1 → 1 on one node without and with --cluster, and from node A to node B",
  only: { kinds: ["sluice"], reason: "the cluster is Sluice's" },
  initial: () => ({ kind: "cluster", runs: [] }),
  async run(target, ctx, result) {
    const nats = await startNats(target.host, undefined);
    const nodes: RunningTarget[] = [];
    try {
      const options = (id: string) => ({ host: target.host, mosquittoNoDelay: false, sluiceArgs: ["--cluster", nats.url, "--node-id", id] });
      const alone = await startTarget({ slot: "sluice-cluster-1", kind: "sluice" }, options("alone"));
      nodes.push(alone);
      await untilTakingClients(alone);
      // On a shared two-core machine two runs of the same set-up differ by far more than what is
      // measured here: the two single-node set-ups alternate, and the median round counts.
      for (let round = 1; round <= ROUNDS; round++) {
        const single: ClusterRun = { name: "single", title: `one node, no cluster (round ${round})` };
        result.runs.push(single);
        await measure(single, target, target, ctx);
        const withCluster: ClusterRun = { name: "single+cluster", title: `one node with --cluster, NATS on (round ${round})` };
        result.runs.push(withCluster);
        await measure(withCluster, alone, alone, ctx, nats.pid);
      }
      await alone.stop();
      nodes.length = 0;

      const a = await startTarget({ slot: "sluice-node-a", kind: "sluice" }, options("node-a"));
      nodes.push(a);
      const b = await startTarget({ slot: "sluice-node-b", kind: "sluice" }, options("node-b"));
      nodes.push(b);
      await Promise.all([untilTakingClients(a), untilTakingClients(b)]);
      const cross: ClusterRun = { name: "cross-node", title: "publisher on node A, subscriber on node B" };
      result.runs.push(cross);
      await measure(cross, a, b, ctx, nats.pid);
    } finally {
      for (const n of nodes) await n.stop();
      await nats.stop();
    }
  },
};
