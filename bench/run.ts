// `npm run bench`: runs every scenario against every target, one freshly started broker per
// (scenario, target), prints comparison tables and writes .bench/results.json.
import { readFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { isAbsolute, join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfig, type BenchConfig, type TargetSlot } from "./config.js";
import { repoRoot } from "./paths.js";
import { formatScenario, formatVerdicts, verdicts, writeJson } from "./report.js";
import type { BenchReport, ScenarioReport, TargetRun } from "./results.js";
import type { Scenario, ScenarioContext } from "./scenarios/context.js";
import { scenarioByName } from "./scenarios/index.js";
import { findMosquitto, mosquittoVersion, startTarget, type RunningTarget } from "./targets.js";

/** With BENCH_PIN=1: broker on CPU 0, load generator on CPU 1. */
const BROKER_CPUS = "0";
const GENERATOR_CPUS = "1";

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sluiceVersion(): string | null {
  try {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : null;
  } catch {
    return null;
  }
}

async function runOne(
  scenario: Scenario,
  slot: TargetSlot,
  version: string | null,
  config: BenchConfig,
  earlier: TargetRun[],
): Promise<TargetRun> {
  const started = performance.now();
  const log = (line: string): void => console.log(`  [${scenario.name} ${slot.slot}] ${line}`);
  const run: TargetRun = {
    slot: slot.slot,
    kind: slot.kind,
    version,
    result: null,
    error: null,
    crashed: null,
    elapsedMs: 0,
  };
  let target: RunningTarget;
  try {
    target = await startTarget(slot, {
      host: config.host,
      cpus: config.pin ? BROKER_CPUS : undefined,
      mosquittoNoDelay: config.mosquittoNoDelay,
    });
  } catch (err) {
    run.error = `could not start ${slot.kind}: ${message(err)}`;
    log(run.error);
    run.elapsedMs = performance.now() - started;
    return run;
  }
  log(`${slot.kind} pid ${target.pid} listening on ${target.host}:${target.port}`);
  const ctx: ScenarioContext = { config, generatorCpus: config.pin ? GENERATOR_CPUS : undefined, log, earlier };
  const partial = scenario.initial(config);
  run.result = partial;
  try {
    await scenario.run(target, ctx, partial);
  } catch (err) {
    run.error = message(err);
    log(`error: ${run.error}`);
  }
  run.crashed = target.exitReason();
  if (run.crashed !== null) {
    const tail = target.outputTail().trim();
    log(`broker ${run.crashed}${tail ? `; last output:\n${tail}` : ""}`);
  }
  await target.stop();
  run.elapsedMs = performance.now() - started;
  return run;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const mosquitto = findMosquitto();
  const versions = new Map<string, string | null>([
    ["sluice", sluiceVersion()],
    ["mosquitto", mosquitto === null ? null : mosquittoVersion(mosquitto)],
  ]);
  const targets = config.targets.filter((t) => {
    if (t.kind === "mosquitto" && mosquitto === null) {
      console.log(`note: mosquitto not installed; skipping target "${t.slot}" (no ratios will be printed)`);
      return false;
    }
    return true;
  });

  console.log(
    `sluice bench: ${config.scenarios.join(", ")} | targets ${targets.map((t) => (t.slot === t.kind ? t.slot : `${t.slot}=${t.kind}`)).join(", ")}` +
      ` | ${config.durationS} s windows | ${config.idleConnections} idle connections` +
      ` | ${cpus().length} CPUs${config.pin ? `, broker pinned to CPU ${BROKER_CPUS}, generator to CPU ${GENERATOR_CPUS}` : ""}`,
  );
  if (mosquitto !== null) console.log(`mosquitto: ${mosquitto} (${versions.get("mosquitto") ?? "unknown version"})`);

  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    host: { cpus: cpus().length, node: process.version, platform: process.platform, kernel: release() },
    config: { ...config, targets: targets.map((t) => `${t.slot}=${t.kind}`) },
    scenarios: [],
  };
  // Once a target fails to start, later scenarios skip it rather than wait out the same failure.
  const startFailures = new Map<string, string>();

  for (const name of config.scenarios) {
    const scenario = scenarioByName(name);
    if (scenario === undefined) continue; // loadConfig already rejected unknown names
    console.log(`\n${scenario.title}`);
    const scenarioReport: ScenarioReport = { name: scenario.name, title: scenario.title, runs: [] };
    for (const slot of targets) {
      const version = versions.get(slot.kind) ?? null;
      if (scenario.only !== undefined && !scenario.only.kinds.includes(slot.kind)) {
        const skipped = `not applicable to ${slot.kind}: ${scenario.only.reason}`;
        console.log(`  [${scenario.name} ${slot.slot}] skipped (${skipped})`);
        scenarioReport.runs.push({ slot: slot.slot, kind: slot.kind, version, result: null, error: null, crashed: null, elapsedMs: 0, skipped });
        continue;
      }
      const earlier = startFailures.get(slot.slot);
      if (earlier !== undefined) {
        scenarioReport.runs.push({
          slot: slot.slot,
          kind: slot.kind,
          version,
          result: null,
          error: `skipped: ${earlier}`,
          crashed: null,
          elapsedMs: 0,
        });
        continue;
      }
      const run = await runOne(scenario, slot, version, config, [...scenarioReport.runs]);
      if (run.result === null && run.error !== null) startFailures.set(slot.slot, run.error);
      scenarioReport.runs.push(run);
    }
    report.scenarios.push(scenarioReport);
  }

  console.log("\n\nResults (delivered/s = messages received by all subscribers per second; pub/s = PUBLISH packets per second)");
  for (const s of report.scenarios) console.log(formatScenario(s));
  console.log(formatVerdicts(verdicts(report)));

  const resultsPath = isAbsolute(config.resultsPath) ? config.resultsPath : join(repoRoot, config.resultsPath);
  writeJson(resultsPath, report);
  console.log(`\nresults written to ${resultsPath}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
