// Shapes of what the scenarios measure; shared by the scenarios, the report and results.json.
import type { TargetKind } from "./config.js";
import type { IdleOpenResult, IngestPhaseResult, IngestTotals, PhaseResult } from "./load/protocol.js";
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

/** One kind of device traffic in the ingest scenario: what is published and what it becomes. */
export interface IngestPhaseReport {
  name: string;
  /** What every device publishes (QoS 1), and the records one message becomes. */
  payload: string;
  recordsPerMessage: number;
  /** Whether the devices have a payload parser (it produces the records). */
  parser: boolean;
  devices: number;
  setupMs?: number;
  /** Every connection keeps `window` messages awaiting PUBACK. */
  saturation?: IngestPhaseResult;
  /** Committed records per second at saturation: success PUBACKs/s × recordsPerMessage. */
  recordsPerS?: number;
  /** Paced below saturation; publish→PUBACK latency. `rate` in PUBLISH packets per second. */
  latency?: { rate: number; phase: IngestPhaseResult };
  /** Over the connections' whole life (warm-up and drains included). */
  totals?: IngestTotals;
  check?: IngestCheck;
  /**
   * ingest-pg: PostgreSQL's processes' CPU (cores) over the saturation phase (warm-up included),
   * beside the broker's, so records per CPU-second of both can be read.
   */
  storeCpu?: number;
}

/** What the buckets hold compared with what the PUBACKs promised. */
export interface IngestCheck {
  /** Success PUBACKs over the phase's whole life, and the records they stand for. */
  ackedMessages: number;
  expectedRecords: number;
  /** Sum of every device's bucket size (`GET /device/:id/data_amount`). */
  storedRecords: number;
  /** Devices whose bucket size differs from their own acknowledged records. */
  mismatchedDevices: number;
  /** One device's `temperature` count through `GET /data?...&query=count` with its own token. */
  sample: { device: string; ackedMessages: number; temperatureCount: number };
}

/**
 * One window of the routing check: one-to-one QoS 0 at saturation with device tokens, with or
 * without the pipeline configured. The windows alternate within one continuous blast.
 */
export interface RoutingSegment {
  pipeline: boolean;
  windowMs: number;
  delivered: number;
  deliveredPerS: number;
  generatorCpu: number;
  brokerCpu: number | null;
  hostCpu: number | null;
  lostConnections: number;
}

export interface IngestResult {
  kind: "ingest";
  /** Device connections per phase, and messages each may have awaiting PUBACK. */
  devices: number;
  window: number;
  setupMs: number;
  routing: {
    segments: RoutingSegment[];
    /** Mean delivered/s of the windows without and with the pipeline configured. */
    plainPerS?: number;
    pipelinePerS?: number;
    /** pipelinePerS / plainPerS. */
    ratio?: number;
    /** The same ratio within each block of four windows (plain/pipeline in ABBA or BAAB order). */
    blockRatios?: number[];
  };
  phases: IngestPhaseReport[];
  /** ingest-pg: where the records went ("postgres"); absent: SQLite. */
  store?: "postgres";
}

/**
 * The cluster scenario (Sluice only): one publisher and one subscriber, QoS 0, in three set-ups:
 * a single node without cluster, a single node with the cluster on (NATS, no other node), and
 * the publisher on node A with the subscriber on node B.
 */
export interface ClusterResult {
  kind: "cluster";
  runs: ClusterRun[];
}

export interface ClusterRun {
  name: "single" | "single+cluster" | "cross-node";
  title: string;
  saturation?: PhaseResult;
  latency?: PacedPhase;
  /** Cores nats-server used during the saturation phase (warm-up included). */
  natsCpu?: number;
}

/**
 * The cluster-qos1 scenario (Sluice only): QoS 1 publishers on node A, a subscriber on node B,
 * one PostgreSQL store; alternately with no persistent session anywhere and with one on each
 * node (so each node's acks also wait for a drain round trip to the other and on its own groups
 * connection).
 */
export interface ClusterQos1Result {
  kind: "cluster-qos1";
  publishers: number;
  /** Messages each publisher keeps awaiting PUBACK at saturation. */
  window: number;
  /** Offered PUBLISH packets per second (all publishers) in the paced latency phases. */
  pacedRate: number;
  runs: ClusterQos1Run[];
}

export type ClusterQos1Setup = "plain" | "durable" | "durable-b";

export interface ClusterQos1Run {
  /**
   * plain: no persistent session; durable: one connected on each node; durable-b: on node B only
   * (the drain to B without A's own groups round trip; with BENCH_QOS1_B_ONLY=1).
   */
  setup: ClusterQos1Setup;
  round: number;
  /** Window kept full; latency is publish→PUBACK at saturation. */
  saturation?: IngestPhaseResult;
  /** Paced at `pacedRate`; publish→PUBACK latency below saturation. */
  paced?: IngestPhaseResult;
  /** Cores node B and nats-server used during the saturation phase (node A's is in `saturation.brokerCpu`). */
  peerCpu?: number;
  natsCpu?: number;
}

/** The relay scenario: an external Mosquitto → Sluice's MQTT relay → insert action → SQLite. */
export interface RelayResult {
  kind: "relay";
  devices: number;
  setupMs: number;
  /** Records committed per second through the relay at saturation (from the buckets' sizes). */
  recordsPerS?: number;
  /** Messages the relay took from Mosquitto per second over the same window. */
  messagesPerS?: number;
  /** After the publishers stop and the relay drains: what it took against what is stored. */
  check?: { published: number; relayed: number; failed: number; expectedRecords: number; storedRecords: number };
}

/** The limits scenario: fan-in saturation with every plan limit checked, against none. */
export interface LimitsResult {
  kind: "limits";
  publishers: number;
  /** Delivered msg/s of each alternating round, accounts on `unlimited` and on a metered plan. */
  unlimited: number[];
  metered: number[];
  /** Median metered / median unlimited. */
  ratio?: number;
}

/** One abuse of the abuse scenario: the fan-in alone (before, after) and beside the abuse. */
export interface AbuseRow {
  name: string;
  title: string;
  aloneBefore?: IngestPhaseResult;
  withAbuse?: IngestPhaseResult;
  aloneAfter?: IngestPhaseResult;
  /** What the abuse did and what the broker answered it. */
  abuseNote?: string;
  /** Delivered msg/s with the abuse over the mean of the two windows alone. */
  throughputRatio?: number;
  /** PUBACK p99 with the abuse over the mean of the two windows alone. */
  p99Ratio?: number;
  error?: string;
}

/** The abuse scenario: a QoS 1 fan-in at a fixed rate beside each abuse of issue 10. */
export interface AbuseResult {
  kind: "abuse";
  publishers: number;
  window: number;
  /** Offered PUBLISH packets per second, all publishers together. */
  rate: number;
  rows: AbuseRow[];
}

/** The devices scenario: the list's API pages and the console's first render at many devices. */
export interface DevicesResult {
  kind: "devices";
  devices: number;
  /** Inserting them straight into SQLite, one transaction. */
  insertMs?: number;
  /** Each query the console makes, repeated: its time over HTTP from the bench process. */
  queries: { name: string; rows: number; p50Ms: number; p95Ms: number; maxMs: number }[];
  /** Navigation start → 50 rows in the console's devices page, in Chromium, each round a fresh page. */
  firstRenderMs: number[];
}

/** One rate of the inspector scenario: publish → row in the console's Live Inspector. */
export interface InspectorLatencyPhase {
  /** Messages per second published (QoS 0, one device), for `seconds`. */
  rate: number;
  seconds: number;
  sent: number;
  /** Messages whose row the page added to its list. */
  seen: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  /** Long tasks (> 50 ms, PerformanceObserver 'longtask') in the page during the phase and its drain. */
  longTasks: number;
  longestTaskMs: number;
}

export interface InspectorLatencyResult {
  kind: "inspector";
  phases: InspectorLatencyPhase[];
}

/** The dashboards scenario: a year of records downsampled for one chart. */
export interface DashboardsResult {
  kind: "dashboards";
  records: number;
  buckets: number;
  /** Storing the records through the HTTP API. */
  fillMs?: number;
  /** A device's downsample before any chart names it (no hour summary kept: every record read). */
  coldMs?: number;
  coldCpuMs?: number;
  /** The saved chart's first view (its hours summarized in the background once it was saved). */
  firstMs?: number;
  firstCpuMs?: number;
  /** Each timed `GET /data/:dashboard/:widget?buckets=` after the first. */
  queryMs: number[];
  medianMs?: number;
  p95Ms?: number;
  /** The broker's CPU time (user + system) per query, from /proc: what the query costs, whatever else runs. */
  cpuMsPerQuery?: number;
  /** `GET /status` polled (every 10 ms) during more queries: how long the event loop was held. */
  statusP99Ms?: number;
  statusMaxMs?: number;
}

/** The dashboard scenario: the console's widgets in Chromium (bench/scenarios/dashboard_view.ts). */
export interface DashboardViewResult {
  kind: "dashboard";
  /** Records of the year chart. */
  records: number;
  /** Publish (its clock as the value) → the display widget's value in the DOM. */
  latency?: { rate: number; seconds: number; sent: number; seen: number; p50Ms?: number; p99Ms?: number; maxMs?: number };
  /** The buckets the year chart asked for (its width in pixels). */
  buckets?: number;
  /** Navigation start → the year chart's first drawing; the first load runs the server's cold query. */
  coldLoadMs?: number;
  coldDataMs?: number;
  warmLoadMs: number[];
  /** The widget's data request's start → its first drawing: the query plus the first render. */
  coldQueryAndRenderMs?: number;
  warmQueryAndRenderMs: number[];
  /** The widget data request's duration in each warm load (Resource Timing). */
  warmDataMs?: number[];
  /** When each warm load's widget data request started (navigation start = 0): the page's own boot before it. */
  warmDataStartMs?: number[];
  /** 20 widgets each updated `rate` times a second: long tasks (> 50 ms) in the page meanwhile. */
  storm?: { widgets: number; rate: number; seconds: number; messages: number; valueUpdates: number; longTasks: number; longestTaskMs: number };
}

export type ScenarioResult = ClusterResult | ClusterQos1Result | ThroughputResult | IdleResult | IngestResult | RelayResult | LimitsResult | AbuseResult | InspectorLatencyResult | DevicesResult | DashboardsResult | DashboardViewResult;

export interface TargetRun {
  slot: string;
  kind: TargetKind;
  version: string | null;
  /** Whatever was measured before an error, if any. */
  result: ScenarioResult | null;
  error: string | null;
  /** Set when the broker process was found dead at the end of the scenario. */
  crashed: string | null;
  /** Set when the scenario does not apply to this broker (nothing was started). */
  skipped?: string;
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
