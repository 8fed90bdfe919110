// Benchmark settings, all overridable from the environment so CI and a developer's laptop
// can trade precision for wall-clock time without editing code.

export type TargetKind = "sluice" | "mosquitto";

export interface TargetSlot {
  /** Name shown in the report; ratios are always slot "sluice" over slot "mosquitto". */
  slot: string;
  /** What actually runs in that slot ("sluice=mosquitto" lets Mosquitto stand in for Sluice). */
  kind: TargetKind;
}

export interface BenchConfig {
  /** Seconds of each measurement window (saturation, latency, overload). */
  durationS: number;
  /** Seconds of load before a window starts, so connection setup and JIT warm-up are excluded. */
  warmupS: number;
  scenarios: string[];
  targets: TargetSlot[];
  /** Connections held open by the idle scenario. */
  idleConnections: number;
  /** Offered rate for the latency probe, as a fraction of the target's own saturation rate. */
  latencyLoad: number;
  /** Offered rate for the overload phase, as a multiple of the target's saturation rate. */
  overloadFactor: number;
  /** Pin the broker to CPU 0 and the load generator to CPU 1 with taskset. */
  pin: boolean;
  /** Run Mosquitto with `set_tcp_nodelay true` instead of its stock Nagle-on sockets. */
  mosquittoNoDelay: boolean;
  /** Ingest scenario: device connections per phase, and QoS 1 messages each keeps in flight. */
  ingestDevices: number;
  ingestWindow: number;
  /** Relay scenario: devices, each with one QoS 1 publisher on the external Mosquitto. */
  relayDevices: number;
  /** Devices scenario: devices in the account whose list is measured. */
  listDevices: number;
  /** Dashboards and dashboard scenarios: records of the year the chart shows. */
  dashboardRecords: number;
  host: string;
  resultsPath: string;
}

export const ALL_SCENARIOS = ["one-to-one", "fan-in", "fan-out", "idle", "ingest", "relay", "limits", "abuse", "inspector", "devices", "dashboards", "dashboard", "cluster", "ingest-pg", "cluster-qos1"] as const;

function num(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  }
  return value;
}

function list(name: string, fallback: readonly string[]): string[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return [...fallback];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function parseTarget(spec: string): TargetSlot {
  const [slot, kind = slot] = spec.split("=").map((s) => s.trim());
  if (slot === undefined || slot === "") throw new Error(`BENCH_TARGETS: empty entry`);
  if (kind !== "sluice" && kind !== "mosquitto") {
    throw new Error(`BENCH_TARGETS: unknown broker "${kind}" (use sluice or mosquitto, or slot=broker)`);
  }
  return { slot, kind };
}

export function loadConfig(): BenchConfig {
  const scenarios = list("BENCH_SCENARIOS", ALL_SCENARIOS);
  for (const s of scenarios) {
    if (!(ALL_SCENARIOS as readonly string[]).includes(s)) {
      throw new Error(`BENCH_SCENARIOS: unknown scenario "${s}" (known: ${ALL_SCENARIOS.join(", ")})`);
    }
  }
  // Mosquitto first: if Sluice's saturation collapses, its paced phases borrow Mosquitto's rate.
  const targets = list("BENCH_TARGETS", ["mosquitto", "sluice"]).map(parseTarget);
  const slots = new Set(targets.map((t) => t.slot));
  if (slots.size !== targets.length) throw new Error("BENCH_TARGETS: slot names must be unique");
  const ingestWindow = Math.floor(num("BENCH_INGEST_WINDOW", 64, 1));
  // Sluice's default receive maximum: more unacknowledged QoS 1 messages is a protocol violation.
  if (ingestWindow > 1024) throw new Error(`BENCH_INGEST_WINDOW must be at most 1024, got ${ingestWindow}`);
  return {
    durationS: num("BENCH_DURATION", 3, 0.5),
    warmupS: num("BENCH_WARMUP", 1, 0),
    scenarios,
    targets,
    idleConnections: Math.floor(num("BENCH_IDLE", 10_000, 1)),
    latencyLoad: num("BENCH_LATENCY_LOAD", 0.5, 0.01),
    overloadFactor: num("BENCH_OVERLOAD", 2, 1),
    pin: process.env["BENCH_PIN"] === "1",
    mosquittoNoDelay: process.env["BENCH_MOSQUITTO_NODELAY"] === "1",
    ingestDevices: Math.floor(num("BENCH_INGEST_DEVICES", 100, 1)),
    ingestWindow,
    relayDevices: Math.floor(num("BENCH_RELAY_DEVICES", 10, 1)),
    listDevices: Math.floor(num("BENCH_LIST_DEVICES", 100_000, 100)),
    dashboardRecords: Math.floor(num("BENCH_DASHBOARD_RECORDS", 1_000_000, 1)),
    host: "127.0.0.1",
    resultsPath: process.env["BENCH_RESULTS"] ?? ".bench/results.json",
  };
}
