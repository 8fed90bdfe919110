// Messages between the orchestrator (bench/run.ts) and the load-generator child process.
import type { LatencySummary } from "./histogram.js";

export interface SetupRequest {
  type: "setup";
  host: string;
  port: number;
  brokerPid: number;
  /** One topic per publisher connection. */
  publishTopics: string[];
  /** One filter per subscriber connection. */
  subscribeFilters: string[];
  /** Where subscribers connect when not on `port` (the cluster scenario: another node). */
  subscribePort?: number;
  /** CONNECT credentials (username, password) per publisher; anonymous when absent. */
  publishCredentials?: Credentials[];
  /** CONNECT credentials per subscriber; anonymous when absent. */
  subscribeCredentials?: Credentials[];
}

export interface Credentials {
  username: string;
  password: string;
}

/** One MQTT 5 connection per device, each publishing QoS 1 to its own topic. */
export interface IngestSetupRequest {
  type: "ingest-setup";
  host: string;
  port: number;
  brokerPid: number;
  /** Anonymous when a device has no credentials (the cluster-qos1 scenario). */
  devices: (Partial<Credentials> & { topic: string })[];
  /** The PUBLISH payload every device sends, as UTF-8 text. */
  payload: string;
  /** Messages each connection may have awaiting PUBACK. */
  window: number;
  /**
   * Subscribers opened before the devices (MQTT 3.1.1, QoS 0 subscriptions), counting what is
   * delivered to them: the abuse scenario's fan-in. None when absent.
   */
  subscribers?: (Partial<Credentials> & { filter: string })[];
  /** Where subscribers connect when not on `port` (cluster-qos1: another node). */
  subscribePort?: number;
}

export interface IngestPhaseRequest {
  type: "ingest-phase";
  /** "blast": every connection keeps its window full; "paced": fixed total rate. */
  mode: "blast" | "paced";
  /** Total PUBLISH packets per second across all connections (paced mode only). */
  rate: number;
  warmupMs: number;
  measureMs: number;
  /** Record publish→PUBACK latency of the messages sent within the window. */
  latency: boolean;
  /** Longest wait, once the load stops, for the PUBACKs of messages still in flight. */
  drainTimeoutMs: number;
}

export interface IngestTotalsRequest {
  type: "ingest-totals";
}

/** Starts or stops blasting on the publishers of the last setup, outside a timed phase. */
export interface BlastRequest {
  type: "blast";
  on: boolean;
}

/** Counters and CPU clocks right now, for windows the orchestrator times itself. */
export interface SampleRequest {
  type: "sample";
}

export interface Sample {
  /** The generator's performance.now(). */
  at: number;
  delivered: number;
  sent: number;
  /** CPU seconds so far: generator, broker (null if gone), whole machine (busy). */
  cpu: number;
  brokerCpu: number | null;
  hostBusy: number | null;
  lostConnections: number;
}

export interface PhaseRequest {
  type: "phase";
  /** "blast": every publisher writes as fast as its socket drains; "paced": fixed total rate. */
  mode: "blast" | "paced";
  /** Total PUBLISH packets per second across all publishers (paced mode only). */
  rate: number;
  warmupMs: number;
  measureMs: number;
  /** Record per-message latency from the timestamp in the payload. */
  latency: boolean;
  /** Longest wait for in-flight messages to finish arriving after the load stops. */
  quiesceTimeoutMs: number;
}

export interface IdleOpenRequest {
  type: "idle-open";
  host: string;
  port: number;
  count: number;
  /** CONNECTs in flight at once; bounded so the broker's accept backlog never overflows. */
  concurrency: number;
}

export interface IdleStatusRequest {
  type: "idle-status";
}

export interface CloseRequest {
  type: "close";
}

export type AgentRequest =
  | SetupRequest
  | PhaseRequest
  | IdleOpenRequest
  | IdleStatusRequest
  | CloseRequest
  | IngestSetupRequest
  | IngestPhaseRequest
  | IngestTotalsRequest
  | BlastRequest
  | SampleRequest;

export interface Envelope<T> {
  id: number;
  body: T;
}

export interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface SetupResult {
  connectMs: number;
}

export interface PhaseResult {
  windowMs: number;
  /** Messages the pacer wanted to send in the window (paced mode; equals `sent` in blast mode). */
  offered: number;
  /** Messages handed to the kernel in the window. */
  sent: number;
  /** Paced messages not sent because the socket was still backed up (broker pushing back). */
  shed: number;
  /** PUBLISH packets received by all subscribers in the window. */
  delivered: number;
  deliveredPerS: number;
  sentPerS: number;
  latency: LatencySummary | null;
  /** Deliveries stamped before the phase began (leftovers), excluded from `latency`. */
  stale: number;
  /** Fraction of one core used by the load generator during the window. */
  generatorCpu: number;
  /** Fraction of one core used by the broker (all its threads) during the window. */
  brokerCpu: number | null;
  /** Cores busy machine-wide during the window; minus broker and generator = other activity. */
  hostCpu: number | null;
  /** Broker RSS at the start and end of the window; a steep rise means unbounded buffering. */
  brokerRssStartKb: number | null;
  brokerRssEndKb: number | null;
  brokerRssMaxKb: number | null;
  /** Load connections the broker closed during the phase. */
  lostConnections: number;
  /** Time from stopping the load until deliveries stopped, or null if they never did. */
  quiesceMs: number | null;
}

export interface IdleOpenResult {
  /** Opened by this request. */
  opened: number;
  /** Open connections held by the generator in total, this request's included. */
  totalOpen: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
}

export interface IdleStatusResult {
  open: number;
}

export interface IngestPhaseResult {
  windowMs: number;
  /** Messages the pacer wanted to send in the window (paced mode; equals `sent` in blast mode). */
  offered: number;
  /** PUBLISH packets handed to the kernel in the window. */
  sent: number;
  /** Paced messages not sent because the connection's window was full. */
  shed: number;
  /** Success PUBACKs received in the window: committed messages. */
  acked: number;
  /** PUBLISH packets the setup's subscribers received in the window (0 without subscribers). */
  delivered: number;
  deliveredPerS: number;
  /** PUBACKs with a failure reason code (>= 0x80) received in the window. */
  failed: number;
  ackedPerS: number;
  sentPerS: number;
  /** Publish→PUBACK time of the messages sent within the window (latency phases only). */
  latency: LatencySummary | null;
  generatorCpu: number;
  brokerCpu: number | null;
  hostCpu: number | null;
  brokerRssStartKb: number | null;
  brokerRssEndKb: number | null;
  brokerRssMaxKb: number | null;
  lostConnections: number;
  /** Time from stopping the load until the last PUBACK arrived, or null if some never did. */
  drainMs: number | null;
  /** Messages still awaiting PUBACK when the drain ended. */
  unacked: number;
}

/** Counters over the connections' whole life (warm-up and drain included). */
export interface IngestTotals {
  /** Per connection, in the order of `IngestSetupRequest.devices`. */
  sent: number[];
  acked: number[];
  failed: number[];
  /** Failure PUBACKs by reason code, as "0x99". */
  failures: Record<string, number>;
  inflight: number;
  /** PUBACKs for a packet id that was not in flight. */
  unexpected: number;
  /** Connections the broker closed, and the reason codes of any DISCONNECT it sent. */
  closed: number;
  disconnectReasons: string[];
}
