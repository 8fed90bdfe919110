/**
 * JSON shapes of the public HTTP API, shared by the routes that build them and by the console
 * (console/src/api), which imports this file's types directly: one definition, no copies.
 * Keep this module free of runtime imports so a browser build can read it.
 */
import type { InspectorEventJson } from "../inspector/serialize.js";
import type { InspectorEventKind } from "../inspector/types.js";

export type { InspectorEventJson, InspectorEventKind };

/** TagoIO's envelopes: the SDK reads `result` when `status` is true, else `message`. */
export type Envelope<T> = { status: true; result: T } | { status: false; message: string };

export interface TagJson {
  key: string;
  value: string;
}

/** A device as `GET /device/:id` answers (TagoIO's DeviceInfo; unknown fields kept as sent). */
export interface DeviceJson {
  id: string;
  name: string;
  active: boolean;
  tags: TagJson[];
  profile: string;
  bucket: { id: string; name: string };
  type: string;
  visible: boolean;
  description: string | null;
  connector: string | null;
  network: string | null;
  /** The parser, base64-encoded, or null when the device has none. */
  payload_decoder: string | null;
  last_input: string | null;
  rpm: unknown;
  created_at: string;
  updated_at: string;
  [extra: string]: unknown;
}

/** A user of an account (`GET /account/user`). */
export interface UserJson {
  id: string;
  email: string;
  name: string;
  created_at: string;
  last_login: string | null;
}

/** Who the session cookie signs in (`GET /account/session`). */
export interface SessionJson {
  user: { id: string; email: string; name: string };
  account: { id: string; name: string };
}

/** A notification (`GET /notification`, the `notification` SSE channel): the SDK's NotificationInfo. */
export interface NotificationInfo {
  id: string;
  title: string;
  message: string;
  read: boolean;
  icon: unknown;
  buttons: unknown[];
  buttons_enabled: boolean;
  buttons_autodisable: boolean;
  created_at: string;
}

// ---------------------------------------------------------------------------------------------
// Analyses, notifications, relays, account (console pages of branch c-misc).
// ---------------------------------------------------------------------------------------------

/** A key/value pair: an analysis's environment variable or tag. */
export interface KeyValueJson {
  key: string;
  value: string;
}

/** An analysis as `GET /analysis` and `GET /analysis/:id` answer (the SDK's AnalysisInfo). */
export interface AnalysisInfoJson {
  id: string;
  name: string;
  description: string | null;
  active: boolean;
  run_on: "sluice" | "external";
  runtime: "node";
  file_name: string | null;
  /** Environment variables, `context.environment` of the script. */
  variables: KeyValueJson[];
  tags: KeyValueJson[];
  /** The analysis token: in clear for account tokens and sessions, masked for other analyses' tokens. */
  token: string;
  /** The script's version, bumped by each upload; 0 before the first. */
  version: number;
  last_run: string | null;
  created_at: string;
  updated_at: string;
  /** `GET /analysis/:id` only: its runs now in the run queue. */
  runs?: { running: number; queued: number };
}

/** `POST /analysis` answer. */
export interface AnalysisCreatedJson {
  id: string;
  token: string;
}

/** A queued or running run (`GET /analysis/runs`, `GET /analysis/:id/runs`, the run answer). */
export interface AnalysisRunJson {
  id: number;
  analysis: string;
  status: "queued" | "running";
  queued_at: string;
  started_at: string | null;
}

/**
 * A run's change on the `analysis_run.<analysis id>` channel of `/events`: queued, running,
 * then `finished` (its process ended) or `dropped` (removed from the queue unstarted).
 */
export interface AnalysisRunEventJson extends Omit<AnalysisRunJson, "status"> {
  status: AnalysisRunJson["status"] | "finished" | "dropped";
  ended_at: string | null;
}

/** `POST /analysis/:id/run` answer: the run (run_on sluice) or whether a runner got it (external). */
export interface AnalysisRunAnswerJson {
  analysis_token: string;
  run?: AnalysisRunJson;
  delivered?: boolean;
}

/**
 * `GET /analysis/:id/download` (the SDK's `downloadScript`): TagoIO answers a short-lived URL;
 * Sluice answers the script itself as a `data:` URL, which never expires (`expire_at` null).
 */
export interface AnalysisScriptJson {
  url: string;
  size: number;
  size_unit: "B";
  expire_at: null;
  file_name: string;
  version: number;
}

/** A console line (`GET /analysis/:id/logs`, oldest first). */
export interface AnalysisConsoleLineJson {
  timestamp: string;
  message: string;
}

/** A console line as the `analysis_console.<analysis id>` channel carries it. */
export interface AnalysisConsoleEventJson extends AnalysisConsoleLineJson {
  analysis_id: string;
}

/** How a relayed message names its device (docs/relay.md, "Which device a message belongs to"). */
export type RelayKeyMatch = "serial" | "tag" | "id";
export type RelayDeviceMapping =
  | { source: "fixed"; device: string }
  | { source: "topic"; index: number; match: RelayKeyMatch; tag_key?: string }
  | { source: "json"; field: string; match: RelayKeyMatch; tag_key?: string };

export interface RelaySubscriptionJson {
  topic: string;
  qos: 0 | 1 | 2;
}

/** A relay's settings (credentials apart). */
export interface RelaySettingsJson {
  name: string;
  active: boolean;
  host: string;
  port: number;
  tls: boolean;
  /** PEM; not secret, kept and shown in the clear. */
  ca: string | null;
  cert: string | null;
  username: string | null;
  client_id: string;
  protocol_version: 4 | 5;
  keepalive: number;
  clean: boolean;
  subscriptions: RelaySubscriptionJson[];
  mapping: RelayDeviceMapping;
  /** Topic template for what the platform publishes to a relayed device; null = no downlink. */
  downlink_topic: string | null;
  /** Also route relayed messages to the account's own broker subscribers. */
  forward_to_broker: boolean;
  /** QoS 1/2 downlink messages kept while the external broker is unreachable. */
  max_queue: number;
  /** Reconnect backoff: the first delay and the cap, ms (doubled per failed attempt, jittered). */
  reconnect_min_ms: number;
  reconnect_max_ms: number;
}

/** What `password` and `key` read back as when set: the values never leave the server. */
export type RelaySecretMask = "********";

/**
 * `POST /relay` and `PUT /relay/:id` bodies: settings (a PUT keeps what it leaves out), and the
 * write-only `password` and `key` (a string sets, null or "" clears, the mask or absent keeps).
 */
export type RelayInputJson = Partial<Omit<RelaySettingsJson, "protocol_version" | "subscriptions">> & {
  protocol_version?: 4 | 5 | "3.1.1" | "5";
  subscriptions?: (RelaySubscriptionJson | string)[];
  password?: string | null;
  key?: string | null;
};

export type RelayStateName = "connecting" | "connected" | "disconnected" | "stopped";

export interface RelayCountersJson {
  /** Messages received from the external broker. */
  messages_in: number;
  /** Downlink messages published to the external broker (QoS 1/2: acknowledged by it). */
  messages_out: number;
  /** Downlink messages waiting in the persisted queue (in flight included). */
  queued: number;
  /** Downlink messages lost: QoS 0 while disconnected, or the queue full. */
  dropped: number;
  /** Connection attempts after the first. */
  reconnects: number;
  /** Uplink messages whose device could not be determined. */
  unmapped: number;
  /** Uplink messages the pipeline refused (parser, validation, store): shown on the device's inspector. */
  failed: number;
  /** Uplink QoS 0 messages not processed because too many were already in the pipeline. */
  busy_dropped: number;
}

/** A relay's connection now (`status` of `GET /relay`, `GET /relay/:id`). */
export interface RelayStatusJson {
  state: RelayStateName;
  connected: boolean;
  connected_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  counters: RelayCountersJson;
}

export interface RelayEventJson {
  time: string;
  kind: "connect" | "disconnect" | "error" | "unmapped";
  summary: string;
}

/** `GET /relay/:id/status`: the status and the relay's last 50 events, newest first. */
export interface RelayStatusDetailJson extends RelayStatusJson {
  events: RelayEventJson[];
}

/** A relay as `GET /relay` and `GET /relay/:id` answer. */
export interface RelayJson extends RelaySettingsJson {
  id: string;
  password: RelaySecretMask | null;
  key: RelaySecretMask | null;
  created_at: string;
  updated_at: string;
  status: RelayStatusJson;
}

/**
 * The `relay_state` channel of `/events`: a relay's status whenever its connection state
 * changes or it reports an error; `status` null when the relay was deleted.
 */
export interface RelayStateEventJson {
  relay: string;
  status: RelayStatusJson | null;
}

/** A limit as the API writes it: null is no limit. */
export type LimitJson = number | null;

/** A plan (`GET /plan`, `limits` of `GET /account/usage`); docs/plans.md. */
export interface PlanJson {
  name: string;
  devices: LimitJson;
  connections: LimitJson;
  connectionsPerDevice: LimitJson;
  publishesPerMinute: LimitJson;
  publishesPerMinutePerConnection: LimitJson;
  persistentSessions: LimitJson;
  persistentSessionsPerDevice: LimitJson;
  subscriptionsPerConnection: LimitJson;
  subscriptions: LimitJson;
  recordsPerMinute: LimitJson;
  recordsPerMonth: LimitJson;
  maxPayloadBytes: LimitJson;
  analysisRunsPerMonth: LimitJson;
  notificationsPerMonth: LimitJson;
  emailsPerMonth: LimitJson;
  relays: LimitJson;
  http: { data: LimitJson; dataEdits: LimitJson; aggregate: LimitJson; deviceCreates: LimitJson };
  flapping: { connects: LimitJson; windowSeconds: LimitJson; blockSeconds: LimitJson };
  features: { broker: boolean; relay: boolean; analysis: boolean };
}

/** One limit's consumption; `limit` null means none. */
export interface UsageLineJson {
  used: number;
  limit: LimitJson;
}

/** `GET /account/usage`: counts now, rates over the last minute, monthly totals of `period` (UTC). */
export interface UsageReportJson {
  plan: string;
  /** The calendar month the monthly counts are of, `YYYY-MM`. */
  period: string;
  limits: PlanJson;
  usage: {
    devices: UsageLineJson;
    connections: UsageLineJson;
    subscriptions: UsageLineJson;
    publishesPerMinute: UsageLineJson;
    recordsPerMinute: UsageLineJson;
    recordsPerMonth: UsageLineJson;
    analysisRunsPerMonth: UsageLineJson;
    notificationsPerMonth: UsageLineJson;
    emailsPerMonth: UsageLineJson;
    http: { data: UsageLineJson; dataEdits: UsageLineJson; aggregate: UsageLineJson; deviceCreates: UsageLineJson };
  };
}

/** An account token as `GET /profile/:id/token` lists it: masked. (A type, not an interface, so list helpers take it as a plain record.) */
export type AccountTokenJson = {
  id: string;
  /** The first 8 characters and `-****`, or `****` for tokens made before prefixes were kept. */
  token: string;
  name: string;
  type: "account" | "analysis";
  /** The analysis, for an analysis's token. */
  ref_id: string | null;
  permission: "full" | "write" | "read";
  /** ISO date or "never". */
  expire_time: string;
  created_at: string;
  last_authorization: string | null;
  serie_number: null;
  verification_code: null;
  created_by: null;
};

/** `POST /profile/:id/token` answer: the token itself, shown this once. */
export interface AccountTokenCreatedJson {
  id: string;
  token: string;
  name: string;
  permission: "full" | "write" | "read";
  /** ISO date or "never". */
  expire_date: string;
}
