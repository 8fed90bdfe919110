// What a scenario gets to work with besides the broker under test.
import type { BenchConfig, TargetKind } from "../config.js";
import type { ScenarioResult, TargetRun } from "../results.js";
import type { RunningTarget } from "../targets.js";

export interface ScenarioContext {
  config: BenchConfig;
  /** taskset CPU list for the load generator when BENCH_PIN=1. */
  generatorCpus: string | undefined;
  log: (line: string) => void;
  /** Runs of this scenario against the targets that went before, in order. */
  earlier: TargetRun[];
}

/**
 * A scenario fills in `partial` as it goes, so that if a later phase fails the report still shows
 * everything measured before the failure.
 */
export interface Scenario<R extends ScenarioResult = ScenarioResult> {
  name: string;
  title: string;
  /** The brokers this scenario applies to, with the reason others are skipped; all when absent. */
  only?: { kinds: TargetKind[]; reason: string };
  initial(config: BenchConfig): R;
  run(target: RunningTarget, ctx: ScenarioContext, partial: R): Promise<void>;
}
