// What a QoS 1 ack costs in a cluster (issue 14; Sluice only). Two clustered nodes A and B on one
// PostgreSQL store (so persistent sessions are shared) and a nats-server. QoS 1 publishers on A
// (each keeps a window of messages awaiting PUBACK, 16-byte payloads), one subscriber on B, in
// two set-ups alternated over rounds:
//   plain   — no persistent session anywhere: an ack waits for A's NATS PONG only;
//   durable — a persistent session (MQTT 5, Session Expiry > 0) connected on A and one on B,
//             subscribed to an unrelated topic: each of A's acks also waits for a drain round
//             trip to B and one on A's own groups connection (docs/cluster.md, "What PUBACK
//             means in a cluster");
//   durable-b — (BENCH_QOS1_B_ONLY=1) the one on B only: the drain without A's own round trip.
// Each measured twice: saturation (acks/s, publish→PUBACK latency with the windows full), then a
// fixed paced rate, the same for both set-ups, for the latency of one ack below saturation.
// Before each measurement the nodes' heartbeats on NATS are read until both say the set-up's
// state, so a set-up that did not take is an error, not a wrong figure.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import mqtt from "mqtt";
import { connect as natsConnect, type NatsConnection } from "nats";
import { startPostgres } from "../../test/helpers/postgres.js";
import { LoadAgent } from "../load/remote.js";
import type { IngestPhaseResult } from "../load/protocol.js";
import { cpuSeconds, waitUntilIdle } from "../proc.js";
import type { ClusterQos1Result, ClusterQos1Run, ClusterQos1Setup } from "../results.js";
import { startTarget, type RunningTarget } from "../targets.js";
import { startNats, untilTakingClients } from "./cluster.js";
import type { Scenario, ScenarioContext } from "./context.js";

/** Rounds of the two set-ups (BENCH_CLUSTER_ROUNDS, as the cluster scenario). */
const ROUNDS = Math.max(1, Number(process.env["BENCH_CLUSTER_ROUNDS"] ?? 3) || 3);
const PUBLISHERS = Math.max(1, Math.floor(Number(process.env["BENCH_QOS1_PUBLISHERS"] ?? 4) || 4));
/** Messages each publisher keeps awaiting PUBACK (BENCH_QOS1_WINDOW). */
const WINDOW = Math.min(1024, Math.max(1, Math.floor(Number(process.env["BENCH_QOS1_WINDOW"] ?? 32) || 32)));
/**
 * The paced phases' total rate (BENCH_QOS1_RATE): fixed, so both set-ups are compared at the same
 * load; low enough to be well below saturation on the loaded 2-core machine.
 */
const PACED_RATE = Math.max(1, Number(process.env["BENCH_QOS1_RATE"] ?? 2000) || 2000);
const SETUPS: ClusterQos1Setup[] = ["plain", "durable", ...(process.env["BENCH_QOS1_B_ONLY"] === "1" ? (["durable-b"] as const) : [])];
const PAYLOAD = "0123456789abcdef";
const TOPIC = "bench/qos1";
/** What the persistent sessions subscribe: nothing the publishers send matches it. */
const UNRELATED = "bench/unrelated/#";
const RELAY_SECRET = "bench-cluster-qos1-relay-secret";
const HEARTBEAT_SUBJECT = "sluice.n.heartbeat";
const PACED_WARMUP_MS = 500;
const DRAIN_TIMEOUT_MS = 15_000;
const SETUP_TIMEOUT_MS = 30_000;
const IDLE_TIMEOUT_MS = 30_000;
const STATE_TIMEOUT_MS = 10_000;
/** The subscriber's interest travels to A over NATS after its SUBACK on B. */
const INTEREST_SETTLE_MS = 300;

/** Each node's last heartbeat on NATS: whether it says it holds persistent sessions. */
class Heartbeats {
  private readonly durable = new Map<string, boolean>();

  private constructor(private readonly nc: NatsConnection) {
    nc.subscribe(HEARTBEAT_SUBJECT, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const h = JSON.parse(new TextDecoder().decode(msg.data)) as { origin?: unknown; durable?: unknown };
          // An origin is `<node id>/<nonce>` (src/cluster/node.ts).
          if (typeof h.origin === "string" && typeof h.durable === "boolean") this.durable.set(h.origin.split("/")[0]!, h.durable);
        } catch {
          // Not a heartbeat of ours: nothing to read.
        }
      },
    });
  }

  static async open(url: string): Promise<Heartbeats> {
    return new Heartbeats(await natsConnect({ servers: url, name: "sluice bench heartbeats" }));
  }

  /** Resolves once every node named in `expected` last said its value; heartbeats come every second and at once on a change. */
  async until(expected: Record<string, boolean>): Promise<void> {
    const deadline = Date.now() + STATE_TIMEOUT_MS;
    const nodes = Object.keys(expected);
    while (!nodes.every((n) => this.durable.get(n) === expected[n])) {
      if (Date.now() > deadline) {
        throw new Error(`nodes did not say ${JSON.stringify(expected)} within ${STATE_TIMEOUT_MS} ms: ${nodes.map((n) => `${n}=${String(this.durable.get(n))}`).join(", ")}`);
      }
      await sleep(50);
    }
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}

/** The persistent sessions of the durable set-ups: one per node given, connected, on an unrelated topic. */
class PersistentSessions {
  private clients: mqtt.MqttClient[] = [];
  private nodes: RunningTarget[] = [];

  private url(node: RunningTarget): string {
    return `mqtt://${node.host}:${node.port}`;
  }

  async open(nodes: RunningTarget[]): Promise<void> {
    this.nodes = nodes;
    for (const [i, node] of nodes.entries()) {
      const client = await mqtt.connectAsync(this.url(node), {
        clientId: `bench-durable-${i}`, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0,
      });
      await client.subscribeAsync(UNRELATED, { qos: 1 });
      this.clients.push(client);
    }
  }

  /** Disconnects them and ends the sessions (a clean start with no expiry replaces each, then leaves). */
  async close(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.endAsync();
    for (const [i, node] of this.nodes.entries()) {
      const client = await mqtt.connectAsync(this.url(node), {
        clientId: `bench-durable-${i}`, clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0,
      });
      await client.endAsync();
    }
  }
}

const rateText = (n: number): string => Math.round(n).toLocaleString("en-US");

function latencyText(p: IngestPhaseResult): string {
  const l = p.latency;
  const notes = [p.failed > 0 ? `${p.failed} failed` : "", p.unacked > 0 ? `${p.unacked} unacked` : "", p.lostConnections > 0 ? `${p.lostConnections} connections lost` : ""].filter((x) => x !== "");
  return `${l ? `p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms` : "no latency"}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
}

async function measure(run: ClusterQos1Run, a: RunningTarget, b: RunningTarget, natsPid: number, agent: LoadAgent, ctx: ScenarioContext): Promise<void> {
  const measureMs = ctx.config.durationS * 1000;
  await agent.reset();
  await waitUntilIdle(a.pid, IDLE_TIMEOUT_MS);
  await waitUntilIdle(b.pid, IDLE_TIMEOUT_MS);
  await agent.ingestSetup({
    host: a.host, port: a.port, subscribePort: b.port, brokerPid: a.pid,
    devices: Array.from({ length: PUBLISHERS }, (_, i) => ({ topic: `${TOPIC}/${i}` })),
    payload: PAYLOAD, window: WINDOW, subscribers: [{ filter: `${TOPIC}/#` }],
  }, SETUP_TIMEOUT_MS);
  await sleep(INTEREST_SETTLE_MS);

  const bBefore = cpuSeconds(b.pid);
  const natsBefore = cpuSeconds(natsPid);
  const started = performance.now();
  run.saturation = await agent.ingestPhase({ mode: "blast", rate: 0, warmupMs: ctx.config.warmupS * 1000, measureMs, latency: true, drainTimeoutMs: DRAIN_TIMEOUT_MS });
  const seconds = (performance.now() - started) / 1000;
  const bAfter = cpuSeconds(b.pid);
  const natsAfter = cpuSeconds(natsPid);
  if (bBefore !== null && bAfter !== null) run.peerCpu = (bAfter - bBefore) / seconds;
  if (natsBefore !== null && natsAfter !== null) run.natsCpu = (natsAfter - natsBefore) / seconds;
  const sat = run.saturation;
  if (sat.ackedPerS <= 0) throw new Error(`${run.setup}: nothing acknowledged at saturation`);

  await waitUntilIdle(a.pid, IDLE_TIMEOUT_MS);
  run.paced = await agent.ingestPhase({ mode: "paced", rate: PACED_RATE, warmupMs: PACED_WARMUP_MS, measureMs, latency: true, drainTimeoutMs: DRAIN_TIMEOUT_MS });
  ctx.log(
    `round ${run.round} ${run.setup.padEnd(9)}: ${rateText(sat.ackedPerS)} acks/s (${rateText(sat.deliveredPerS)} delivered/s on B), ${latencyText(sat)}; ` +
      `at ${rateText(PACED_RATE)}/s ${latencyText(run.paced)}`,
  );
}

export const clusterQos1Scenario: Scenario<ClusterQos1Result> = {
  name: "cluster-qos1",
  title: "cluster QoS 1 acks: publishers on node A → subscriber on node B (PostgreSQL store), without and with persistent sessions on the nodes",
  only: { kinds: ["sluice"], reason: "the cluster is Sluice's" },
  initial: () => ({ kind: "cluster-qos1", publishers: PUBLISHERS, window: WINDOW, pacedRate: PACED_RATE, runs: [] }),
  async run(target, ctx, result) {
    // The scenario's own Sluice (on SQLite) is not used: these nodes share a PostgreSQL store.
    const postgres = await startPostgres({ fsync: true });
    const nats = await startNats(target.host, undefined);
    const nodes: RunningTarget[] = [];
    let heartbeats: Heartbeats | undefined;
    const agent = LoadAgent.start(ctx.generatorCpus);
    try {
      const store = await postgres.database();
      const options = (id: string) => ({
        host: target.host, mosquittoNoDelay: false,
        sluiceArgs: ["--cluster", nats.url, "--node-id", id, "--store", store, "--relay-secret", RELAY_SECRET],
      });
      // One after the other: the first one migrates the store.
      const a = await startTarget({ slot: "sluice-qos1-a", kind: "sluice" }, options("node-a"));
      nodes.push(a);
      await untilTakingClients(a);
      const b = await startTarget({ slot: "sluice-qos1-b", kind: "sluice" }, options("node-b"));
      nodes.push(b);
      await untilTakingClients(b);
      ctx.log(`node A pid ${a.pid} (publishers), node B pid ${b.pid} (subscriber), nats-server pid ${nats.pid}; ${PUBLISHERS} publishers × window ${WINDOW}`);
      heartbeats = await Heartbeats.open(nats.url);
      const sessions = new PersistentSessions();
      // A steady drift (JIT, heap, the machine's other load) falls on every set-up: odd rounds
      // run them in order, even rounds in reverse.
      for (let round = 1; round <= ROUNDS; round++) {
        const order = round % 2 === 1 ? SETUPS : [...SETUPS].reverse();
        for (const setup of order) {
          const holders = setup === "durable" ? [a, b] : setup === "durable-b" ? [b] : [];
          if (holders.length > 0) await sessions.open(holders);
          await heartbeats.until({ "node-a": setup === "durable", "node-b": setup !== "plain" });
          const run: ClusterQos1Run = { setup, round };
          result.runs.push(run);
          try {
            await measure(run, a, b, nats.pid, agent, ctx);
          } finally {
            if (holders.length > 0) await sessions.close();
          }
        }
      }
    } finally {
      await agent.stop();
      await heartbeats?.close();
      for (const n of nodes) await n.stop();
      await nats.stop();
      await postgres.stop();
    }
  },
};
