// Shapes of what the scenarios measure; shared by the scenarios, the report and results.json.
import type { TargetKind } from "./config.js";
import type { IdleOpenResult, PhaseResult } from "./load/protocol.js";
import type { ProbeResult } from "./probe.js";

export interface PacedPhase {
  /** Offered PUBLISH packets per second (total over all publishers). */
  rate: number;
  phase: PhaseResult;
}

export interface OverloadPhase extends PacedPhase {
  /** A fresh client probed half-way through the overload window. */
  probeDuring: ProbeResult;
  /** A fresh client probed once the load had stopped and drained. */
  probeAfter: ProbeResult;
  /** Broker process still running and answering after the overload. */
  survived: boolean;
}

export interface ThroughputResult {
  kind: "throughput";
  publishers: number;
  subscribers: number;
  /** Deliveries each PUBLISH should cause (number of matching subscribers). */
  fanout: number;
  setupMs: number;
  saturation?: PhaseResult;
  /**
   * Where the latency and overload rates came from: normally this target's own saturation; if
   * that collapsed, the saturation rate of a target measured earlier in the run.
   */
  rateBasis?: string;
  latency?: PacedPhase;
  overload?: OverloadPhase;
}

export interface IdleResult {
  kind: "idle";
  requested: number;
  /** Connections opened before the baseline reading, to keep one-off costs out of the slope. */
  warmup: IdleOpenResult;
  main?: IdleOpenResult;
  rssStartKb?: number;
  rssBaselineKb?: number;
  rssFinalKb?: number;
  /** (final − baseline) / connections opened after the baseline: the marginal cost. */
  kbPerConnection?: number;
  /** Connections still open after the settle period. */
  stillOpen?: number;
  probe?: ProbeResult;
}

export type ScenarioResult = ThroughputResult | IdleResult;

export interface TargetRun {
  slot: string;
  kind: TargetKind;
  version: string | null;
  /** Whatever was measured before an error, if any. */
  result: ScenarioResult | null;
  error: string | null;
  /** Set when the broker process was found dead at the end of the scenario. */
  crashed: string | null;
  elapsedMs: number;
}

export interface ScenarioReport {
  name: string;
  title: string;
  runs: TargetRun[];
}

export interface BenchReport {
  startedAt: string;
  host: { cpus: number; node: string; platform: string; kernel: string };
  config: Record<string, unknown>;
  scenarios: ScenarioReport[];
}
