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

export type AgentRequest = SetupRequest | PhaseRequest | IdleOpenRequest | IdleStatusRequest | CloseRequest;

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
