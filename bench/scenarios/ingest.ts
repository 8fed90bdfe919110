// End-to-end ingest (Sluice only): devices publish QoS 1 data that an "Insert to Device Bucket"
// action stores in SQLite. Sluice sends PUBACK only once the records are committed, so a
// PUBACK counts as a committed message. Two kinds of traffic, each with its own devices:
//   json   — TagoIO-format JSON records, stored as they are;
//   parsed — a raw hex payload that each device's payload parser turns into records.
// For each: saturation (every connection keeps a window of messages awaiting PUBACK), then a
// paced rate below it for publish→PUBACK latency. Before those, the routing check: one-to-one
// QoS 0 throughput with device tokens, alternately with and without the pipeline configured
// (actions and parsers that the routed topic does not match), to see what its presence costs.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { LoadAgent } from "../load/remote.js";
import type { Credentials, IngestPhaseResult } from "../load/protocol.js";
import { waitUntilIdle } from "../proc.js";
import type { IngestPhaseReport, IngestResult } from "../results.js";
import { mapLimit, SluiceApi, type CreatedDevice } from "../sluice_api.js";
import type { RunningTarget } from "../targets.js";
import type { Scenario, ScenarioContext } from "./context.js";
import { freshClients, topologies } from "./throughput.js";

/** Every device topic is under this; the insert action's trigger filter is `bench/ingest/#`. */
const INGEST_FILTER = "bench/ingest/#";
const USERNAME = "Token";
const TAG_KEY = "bench";

const JSON_PAYLOAD = JSON.stringify([
  { variable: "temperature", value: 21.5, unit: "C" },
  { variable: "humidity", value: 40 },
]);

/** 0x00d7 = 215 → 21.5 °C, 0x5a = 90 % battery, 0x28 = 40 % humidity. */
const RAW_PAYLOAD = "00d75a28";

/** A TagoIO-style parser: reads the global `payload` (the raw text as one record) and replaces it. */
const PARSER = `
const raw = payload.find((item) => item.variable === "payload");
if (raw) {
  const hex = String(raw.value);
  payload = [
    { variable: "temperature", value: parseInt(hex.slice(0, 4), 16) / 10, unit: "C" },
    { variable: "battery", value: parseInt(hex.slice(4, 6), 16), unit: "%" },
    { variable: "humidity", value: parseInt(hex.slice(6, 8), 16), unit: "%" },
  ];
}
`;

interface Kind {
  name: string;
  payload: string;
  recordsPerMessage: number;
  parser: boolean;
}

/** Each message holds (or its parser makes) exactly one `temperature` record: the cross-check counts those. */
const KINDS: Kind[] = [
  { name: "json", payload: JSON_PAYLOAD, recordsPerMessage: 2, parser: false },
  { name: "parsed", payload: RAW_PAYLOAD, recordsPerMessage: 3, parser: true },
];

/**
 * Routing windows without (false) and with (true) the pipeline, in blocks of ABBA, BAAB, ABBA:
 * each block cancels a steady drift (JIT, heap growth), and the three together start and end
 * with the same side.
 */
const ROUTING_ORDER = [false, true, true, false, true, false, false, true, false, true, true, false];
const ROUTING_WINDOW_MS = 1000;
/** After switching: lets the switch's HTTP request and the messages already read clear. */
const ROUTING_SETTLE_MS = 250;

const PACED_WARMUP_MS = 500;
const SETUP_TIMEOUT_MS = 60_000;
/** Longest wait for the PUBACKs of messages still in flight when a phase stops. */
const DRAIN_TIMEOUT_MS = 15_000;
const IDLE_TIMEOUT_MS = 30_000;
/** HTTP requests in flight while setting up devices and reading back counts. */
const HTTP_CONCURRENCY = 8;

const rateText = (n: number): string => `${Math.round(n).toLocaleString("en-US")}`;

function phaseNote(phase: IngestPhaseResult): string {
  const notes: string[] = [];
  if (phase.failed > 0) notes.push(`${phase.failed} failed PUBACKs`);
  if (phase.unacked > 0) notes.push(`${phase.unacked} never acknowledged`);
  if (phase.lostConnections > 0) notes.push(`${phase.lostConnections} connections lost`);
  return notes.length > 0 ? ` (${notes.join(", ")})` : "";
}

/** The account's pipeline, switched on and off for the routing comparison. */
class PipelineConfig {
  private actionId: string | null = null;

  constructor(
    private readonly api: SluiceApi,
    private readonly routePublisher: CreatedDevice,
  ) {}

  /**
   * On: one insert action covering both device groups (by tag) and the routing publisher (by
   * id), on `bench/ingest/#`; the routing publisher also gets a parser. The routed topic
   * (`bench/one`) matches none of it, so every message is looked at and none is stored.
   */
  async enable(): Promise<void> {
    if (this.actionId !== null) return;
    await this.api.editDevice(this.routePublisher.id, { parse_function: PARSER });
    this.actionId = await this.api.createAction({
      name: "bench: store device data",
      type: "mqtt_topic",
      trigger: [
        ...KINDS.map((k) => ({ tag_key: TAG_KEY, tag_value: k.name, topic: INGEST_FILTER })),
        { device: this.routePublisher.id, topic: INGEST_FILTER },
      ],
      action: { type: "insert_bucket" },
    });
  }

  async disable(): Promise<void> {
    if (this.actionId === null) return;
    await this.api.deleteAction(this.actionId);
    this.actionId = null;
    await this.api.editDevice(this.routePublisher.id, { parse_function: "" });
  }
}

async function settle(target: RunningTarget, ctx: ScenarioContext): Promise<void> {
  if ((await waitUntilIdle(target.pid, IDLE_TIMEOUT_MS)) === null && target.exitReason() === null) {
    ctx.log(`warning: broker still busy ${IDLE_TIMEOUT_MS / 1000} s after the previous phase`);
  }
}

/**
 * The routing check. One continuous one-to-one blast; every ROUTING_WINDOW_MS the pipeline is
 * switched on or off (over HTTP) and, after ROUTING_SETTLE_MS, one window is counted. Short
 * alternating windows on the same connections keep other load on a shared machine (which comes
 * and goes over seconds) from landing on one side of the comparison only, which separate
 * multi-second runs could not.
 */
async function routing(
  agent: LoadAgent,
  target: RunningTarget,
  ctx: ScenarioContext,
  pipeline: PipelineConfig,
  credentials: { publish: Credentials[]; subscribe: Credentials[] },
  result: IngestResult,
): Promise<void> {
  const topology = topologies.find((t) => t.name === "one-to-one")!;
  await pipeline.disable();
  await freshClients(agent, topology, target, ctx, credentials);
  await agent.blast(true);
  try {
    await sleep(ctx.config.warmupS * 1000);
    for (const withPipeline of ROUTING_ORDER) {
      if (withPipeline) await pipeline.enable();
      else await pipeline.disable();
      await sleep(ROUTING_SETTLE_MS);
      const before = await agent.sample();
      await sleep(ROUTING_WINDOW_MS);
      const after = await agent.sample();
      const seconds = (after.at - before.at) / 1000;
      const delivered = after.delivered - before.delivered;
      result.routing.segments.push({
        pipeline: withPipeline,
        windowMs: after.at - before.at,
        delivered,
        deliveredPerS: delivered / seconds,
        generatorCpu: (after.cpu - before.cpu) / seconds,
        brokerCpu: after.brokerCpu !== null && before.brokerCpu !== null ? (after.brokerCpu - before.brokerCpu) / seconds : null,
        hostCpu: after.hostBusy !== null && before.hostBusy !== null ? (after.hostBusy - before.hostBusy) / seconds : null,
        lostConnections: after.lostConnections - before.lostConnections,
      });
    }
  } finally {
    await agent.blast(false);
    await agent.reset();
  }
  const segments = result.routing.segments;
  const mean = (list: typeof segments, pipelineOn: boolean): number => {
    const chosen = list.filter((r) => r.pipeline === pipelineOn);
    return chosen.reduce((sum, r) => sum + r.deliveredPerS, 0) / chosen.length;
  };
  result.routing.plainPerS = mean(segments, false);
  result.routing.pipelinePerS = mean(segments, true);
  result.routing.ratio = result.routing.plainPerS > 0 ? result.routing.pipelinePerS / result.routing.plainPerS : undefined;
  result.routing.blockRatios = [];
  for (let i = 0; i + 4 <= segments.length; i += 4) {
    const block = segments.slice(i, i + 4);
    result.routing.blockRatios.push(mean(block, true) / mean(block, false));
  }
  ctx.log(
    `routing: plain ${rateText(result.routing.plainPerS)} msg/s, pipeline configured ${rateText(result.routing.pipelinePerS)} msg/s ` +
      `→ ${result.routing.ratio?.toFixed(3) ?? "?"} (blocks: ${result.routing.blockRatios.map((r) => r.toFixed(3)).join(", ")})`,
  );
}

async function ingestPhases(
  agent: LoadAgent,
  target: RunningTarget,
  ctx: ScenarioContext,
  api: SluiceApi,
  kind: Kind,
  devices: CreatedDevice[],
  report: IngestPhaseReport,
  storeCpu?: () => number,
): Promise<void> {
  const { config } = ctx;
  const measureMs = config.durationS * 1000;
  await agent.reset();
  await settle(target, ctx);
  const setup = await agent.ingestSetup(
    {
      host: target.host,
      port: target.port,
      brokerPid: target.pid,
      devices: devices.map((d, i) => ({ username: USERNAME, password: d.token, topic: `bench/ingest/${kind.name}/${i}` })),
      payload: kind.payload,
      window: config.ingestWindow,
    },
    SETUP_TIMEOUT_MS,
  );
  report.setupMs = setup.connectMs;

  try {
    const storeBefore = storeCpu?.();
    const saturationStarted = performance.now();
    const saturation = await agent.ingestPhase({
      mode: "blast",
      rate: 0,
      warmupMs: config.warmupS * 1000,
      measureMs,
      latency: false,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
    });
    report.saturation = saturation;
    if (storeCpu !== undefined && storeBefore !== undefined) {
      report.storeCpu = (storeCpu() - storeBefore) / ((performance.now() - saturationStarted) / 1000);
    }
    report.recordsPerS = saturation.ackedPerS * kind.recordsPerMessage;
    ctx.log(
      `${kind.name}: ${rateText(saturation.ackedPerS)} msg/s, ${rateText(report.recordsPerS)} records/s committed` +
        phaseNote(saturation),
    );
    if (saturation.ackedPerS <= 0) throw new Error(`${kind.name}: nothing was acknowledged at saturation`);

    await settle(target, ctx);
    const rate = saturation.ackedPerS * config.latencyLoad;
    const latency = await agent.ingestPhase({
      mode: "paced",
      rate,
      warmupMs: PACED_WARMUP_MS,
      measureMs,
      latency: true,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
    });
    report.latency = { rate, phase: latency };
    ctx.log(
      `${kind.name}: at ${rateText(rate)} msg/s publish→PUBACK p99 ${latency.latency?.p99Ms.toFixed(2)} ms ` +
        `(p50 ${latency.latency?.p50Ms.toFixed(2)} ms)${phaseNote(latency)}`,
    );
  } finally {
    // Connections close at the next setup: their counters are read now, whatever happened.
    report.totals = await agent.ingestTotals();
  }

  // What the buckets hold against what the PUBACKs promised.
  const totals = report.totals;
  const ackedMessages = totals.acked.reduce((a, b) => a + b, 0);
  const stored = await mapLimit(devices, HTTP_CONCURRENCY, (d) => api.dataAmount(d.id));
  const mismatchedDevices = stored.filter((n, i) => n !== (totals.acked[i] ?? 0) * kind.recordsPerMessage).length;
  const sample = devices[0]!;
  report.check = {
    ackedMessages,
    expectedRecords: ackedMessages * kind.recordsPerMessage,
    storedRecords: stored.reduce((a, b) => a + b, 0),
    mismatchedDevices,
    sample: { device: sample.id, ackedMessages: totals.acked[0] ?? 0, temperatureCount: await api.countVariable(sample.token, "temperature") },
  };
  const c = report.check;
  ctx.log(
    `${kind.name}: ${c.ackedMessages.toLocaleString("en-US")} messages acknowledged = ${c.expectedRecords.toLocaleString("en-US")} records; ` +
      `buckets hold ${c.storedRecords.toLocaleString("en-US")}` +
      (c.mismatchedDevices > 0 ? ` (${c.mismatchedDevices} devices differ)` : "") +
      `; device 0: ${c.sample.ackedMessages} acknowledged, GET /data count ${c.sample.temperatureCount}`,
  );
}

/** What ingest-pg changes: no routing check (the SQLite scenario has it), the store's CPU read. */
export interface IngestOptions {
  routing: boolean;
  storeCpu?: () => number;
}

export async function runIngest(target: RunningTarget, ctx: ScenarioContext, result: IngestResult, options: IngestOptions = { routing: true }): Promise<void> {
  if (target.api === undefined) throw new Error("this Sluice build wrote no HTTP port or admin token; cannot configure it");
  const api = new SluiceApi(target.host, target.api.port, target.api.adminToken);
  const { config } = ctx;

  // Devices first (tokens are MQTT passwords); no action exists yet, so nothing is stored.
  const setupStarted = performance.now();
  const [routePublisher, routeSubscriber] = await Promise.all([
    api.createDevice({ name: "bench-route-pub" }),
    api.createDevice({ name: "bench-route-sub" }),
  ]);
  const groups = new Map<string, CreatedDevice[]>();
  for (const kind of KINDS) {
    const names = Array.from({ length: config.ingestDevices }, (_, i) => `bench-${kind.name}-${i}`);
    groups.set(
      kind.name,
      await mapLimit(names, HTTP_CONCURRENCY, (name) =>
        api.createDevice({
          name,
          tags: [{ key: TAG_KEY, value: kind.name }],
          ...(kind.parser && { parse_function: PARSER }),
        }),
      ),
    );
  }
  result.setupMs = performance.now() - setupStarted;
  ctx.log(`created ${2 + KINDS.length * config.ingestDevices} devices in ${(result.setupMs / 1000).toFixed(1)} s`);

  const pipeline = new PipelineConfig(api, routePublisher);
  const agent = LoadAgent.start(ctx.generatorCpus);
  try {
    if (options.routing) await routing(
      agent,
      target,
      ctx,
      pipeline,
      {
        publish: [{ username: USERNAME, password: routePublisher.token }],
        subscribe: [{ username: USERNAME, password: routeSubscriber.token }],
      },
      result,
    );
    await pipeline.enable();
    for (const kind of KINDS) {
      const report: IngestPhaseReport = {
        name: kind.name,
        payload: kind.payload,
        recordsPerMessage: kind.recordsPerMessage,
        parser: kind.parser,
        devices: config.ingestDevices,
      };
      result.phases.push(report);
      await ingestPhases(agent, target, ctx, api, kind, groups.get(kind.name)!, report, options.storeCpu);
    }
  } finally {
    await agent.stop();
  }
}

export const ingestScenario: Scenario<IngestResult> = {
  name: "ingest",
  title: "ingest: devices → QoS 1 → insert action → SQLite, PUBACK once committed",
  only: { kinds: ["sluice"], reason: "Mosquitto has no data pipeline to compare with" },
  initial: (config) => ({
    kind: "ingest",
    devices: config.ingestDevices,
    window: config.ingestWindow,
    setupMs: 0,
    routing: { segments: [] },
    phases: [],
  }),
  run: (target, ctx, result) => runIngest(target, ctx, result),
};
