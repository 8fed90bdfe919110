/**
 * JSON shapes of the public HTTP API, shared by the routes that build them and by the console
 * (console/src/api), which imports this file's types directly: one definition, no copies.
 * Keep this module free of runtime imports so a browser build can read it.
 */
import type { InspectorEventJson } from "../inspector/serialize.js";
import type { InspectorEventKind } from "../inspector/types.js";

export type { InspectorEventJson, InspectorEventKind };

/** TagoIO's envelopes: the SDK reads `result` when `status` is true, else `message`. */
export type Envelope<T> = { status: true; result: T } | { status: false; message: string; result?: unknown; path?: string };

export interface TagJson {
  key: string;
  value: string;
}

/** What a device's info and its list item share. */
export interface DeviceFieldsJson {
  id: string;
  name: string;
  active: boolean;
  tags: TagJson[];
  profile: string;
  type: string;
  visible: boolean;
  description: string | null;
  connector: string | null;
  network: string | null;
  /** The parser, base64-encoded, or null when the device has none. */
  payload_decoder: string | null;
  /** When the device last sent a message or data (ISO), or null when it never did. */
  last_input: string | null;
  /** Sluice's: whether the device has a live MQTT connection now. */
  connected: boolean;
  rpm: unknown;
  created_at: string;
  updated_at: string;
}

/** A device as `GET /device/:id` answers (TagoIO's DeviceInfo; unknown fields kept as sent). */
export interface DeviceJson extends DeviceFieldsJson {
  bucket: { id: string; name: string };
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

// Devices: the list, tokens, params, live device events, how to connect (console: devices area)
// ---------------------------------------------------------------------------------------------

/** An item of `GET /device`: the info with `bucket` as the id; only `fields` (plus id, name, tags) when asked. */
export interface DeviceListItemJson extends DeviceFieldsJson {
  bucket: string;
  [extra: string]: unknown;
}

/** `POST /device`'s answer: the new device and its first token (shown this once). */
export interface DeviceCreatedJson {
  device_id: string;
  bucket_id: string;
  token: string;
}

export type TokenPermission = "full" | "write" | "read";

/** An item of `GET /device/token/:deviceId`: the token masked (`prefix-****`); `id` revokes it. */
export interface DeviceTokenJson {
  id: string;
  token: string;
  name: string;
  permission: TokenPermission;
  device_id: string;
  serie_number: string | null;
  /** ISO date, or "never". */
  expire_time: string;
  created_at: string;
  last_authorization: string | null;
  /** The analysis token that created it (revoked with it), or null. */
  minted_by: string | null;
}

/** `POST /device/token`'s answer: the whole token, shown this once. */
export interface DeviceTokenCreatedJson {
  id: string;
  token: string;
  name: string;
  permission: TokenPermission;
  /** ISO date, or "never". */
  expire_date: string;
}

/** A configuration param (`GET /device/:id/params`, `GET /device/params`). */
export interface DeviceParamJson {
  id: string;
  key: string;
  value: string;
  /** Raised by the device once it has applied the param. */
  sent: boolean;
}

/** `/events` channel `device_connection` (and `device_connection.<device id>`). */
export interface DeviceConnectionEvent {
  device_id: string;
  connected: boolean;
}

/** `/events` channel `device_last_input` (and `device_last_input.<device id>`), at most once a second per device. */
export interface DeviceLastInputEvent {
  device_id: string;
  last_input: string;
}

/** The MQTT listeners, as `GET /status` tells them (ports actually listened on). */
export interface MqttListenersJson {
  /** MQTT over TCP. */
  tcp: number;
  /** MQTT over TLS. */
  tls: number;
  /** MQTT over WebSocket, at `ws_path`. */
  ws: number;
  /** MQTT over secure WebSocket, at `ws_path`. */
  wss: number;
  ws_path: string;
}

/** `GET /status` (no token): which Sluice answers, and where devices connect. */
export interface StatusJson {
  name: "sluice";
  version: string;
  /** Absent until the listeners are up (and on an API started without a broker). */
  mqtt?: MqttListenersJson;
}

// ---- Live Inspector and payload parser (console: pages/device/inspector.tsx, parser.tsx) ----

/** A device's inspector switch: `GET /device/:id/inspector/state`, `PUT /device/:id/inspector`. */
export interface InspectorSwitchJson {
  device_id: string;
  enabled: boolean;
}

/** One console line a parser wrote. */
export interface ParserLogJson {
  level: "log" | "debug" | "info" | "warn" | "error";
  message: string;
}

/** `POST /device/:id/parser/test` when the parser ran: what it would store, its console, its time. */
export interface ParserTestResultJson {
  /** What `payload` held at the end (not yet validated as records). */
  payload: unknown;
  logs: ParserLogJson[];
  duration_ms: number;
}

/**
 * Why a parser run failed: it did not compile, threw, ran out of time or memory, its input or
 * output was not acceptable (too deeply nested, not records). The sandbox uses this type too.
 */
export type ParserFailureKind = "compile" | "exception" | "timeout" | "memory" | "invalid_output" | "invalid_input";

/** `result` of the 400 answer of `POST /device/:id/parser/test` when the parser failed. */
export interface ParserTestFailureJson {
  kind: ParserFailureKind;
  logs: ParserLogJson[];
  /** Line of the parser script where it failed (1-based): compile errors and exceptions. */
  line?: number;
}

// ---- Data (a device's bucket) and actions: GET|PUT|DELETE /device/:id/data, /data_retention,
// /action, /action/:id/dead_letters. The server's builders (data/api_record.ts,
// pipeline/action_model.ts, routes/dead_letters.ts) return these types.

/** A record's value as stored: text, number or boolean. */
export type RecordValueJson = string | number | boolean;

/**
 * A record as `GET /data` and `GET /device/:id/data` answer it (the SDK's `Data`): optional
 * fields are left out when the record has none, as TagoIO does; the location is a GeoJSON Point.
 */
export interface DataRecordJson {
  id: string;
  device: string;
  variable: string;
  value?: RecordValueJson;
  unit?: string;
  group: string;
  location?: { type: "Point"; coordinates: [number, number] };
  metadata?: Record<string, unknown>;
  /** ISO 8601. */
  time: string;
  created_at: string;
  /** With `details=true`: TagoIO's deprecated aliases of `device` and `group`. */
  origin?: string;
  serie?: string;
}

/** A record as `POST /data` and `POST /device/:id/data` take it (validated by the server: data/validate.ts). */
export interface DataRecordInputJson {
  variable: string;
  value?: RecordValueJson | null;
  unit?: string;
  /** ISO 8601, "YYYY-MM-DD HH:mm:ss" (UTC) or epoch milliseconds; now when left out. */
  time?: string | number;
  group?: string;
  location?: { lat: number; lng: number } | { type: "Point"; coordinates: [number, number] } | null;
  metadata?: Record<string, unknown>;
}

/** An edit of `PUT /data` and `PUT /device/:id/data`: an absent field stays, `null` clears it; `variable` cannot change. */
export interface DataRecordEditJson {
  id: string;
  value?: RecordValueJson | null;
  unit?: string | null;
  time?: string | number;
  group?: string;
  location?: { lat: number; lng: number } | null;
  metadata?: Record<string, unknown> | null;
}

/** One bucket of `query=aggregate`: `time` is the interval's start. */
export interface AggregateBucketJson {
  device: string;
  variable: string;
  value: number;
  time: string;
}

/** `GET|PUT /device/:id/data_retention`: keep records newer than `days` and at most the newest `records`; null = no bound. */
export interface DataRetentionJson {
  days: number | null;
  records: number | null;
}

/** An item of any list asked for with `fields=id,name` (`/device`, `/analysis`, `/action`): the list API returns just those. */
export interface NamedItemJson {
  id: string;
  name: string;
}

/** An action's trigger kind (TagoIO's action `type`). */
export type TriggerKind = "mqtt_topic" | "condition" | "interval" | "schedule" | "usage_alert" | "mqtt_connect" | "mqtt_disconnect";

/** mqtt_topic: a topic filter (wildcards allowed) for one device, or for every device with tag_key=tag_value. */
export interface MqttTopicTrigger {
  topic: string;
  device?: string;
  tag_key?: string;
  tag_value?: string;
}

/** condition operators: less, greater, equal, different, between (with second_value), any value. */
export type Conditional = "<" | ">" | "=" | "!" | "><" | "*";

export interface ConditionTrigger {
  device: string;
  variable: string;
  is: Conditional;
  value: string;
  second_value?: string;
  value_type: "string" | "number" | "boolean" | "*";
  /** A row that, when met, releases the lock (the action fires again only after it). */
  unlock?: boolean;
}

export interface IntervalTrigger {
  /** "5 minutes", "1 hour", "30 seconds", "2 days". */
  interval: string;
}

export interface ScheduleTrigger {
  cron: string;
  timezone: string;
}

/** TagoIO's service names that Sluice's plans bound (usage alerts watch these). */
export type UsageService = "data_records" | "analysis" | "push_notification" | "email" | "device";

/** Fires when the account's use of a plan limit crosses `condition_value` percent. */
export interface UsageAlertTrigger {
  service_or_resource: UsageService;
  /** `>`: once use goes above the share; `=`: once it reaches it. */
  condition: "=" | ">";
  condition_value: number;
}

/** mqtt_connect / mqtt_disconnect: one device, or every device with tag_key=tag_value. */
export interface DeviceEventTrigger {
  device?: string;
  tag_key?: string;
  tag_value?: string;
}

export type Trigger = MqttTopicTrigger | ConditionTrigger | IntervalTrigger | ScheduleTrigger | UsageAlertTrigger | DeviceEventTrigger;

/** What an action does; `type` names a handler of the server's registry (pipeline/actions/). */
export interface ActionParams {
  type: string;
  [key: string]: unknown;
}

/** An action as `GET /action` and `GET /action/:id` answer it (the SDK's ActionInfo). */
export type ActionJson = {
  id: string;
  name: string;
  active: boolean;
  description: string | null;
  tags: TagJson[];
  type: TriggerKind;
  trigger: Trigger[];
  action: ActionParams;
  lock: boolean;
  trigger_when_unlock: boolean;
  /** ISO 8601, or "never" (TagoIO's word). */
  last_triggered: string;
  profile: string;
  created_at: string;
  updated_at: string;
};

/** What `POST /action` and `PUT /action/:id` take (every field optional on PUT). */
export interface ActionInputJson {
  name?: string;
  active?: boolean;
  description?: string | null;
  tags?: TagJson[];
  type?: TriggerKind;
  trigger?: Trigger[];
  action?: ActionParams;
  trigger_when_unlock?: boolean;
  lock?: boolean;
}

/** `POST /action`'s answer: the new action's id. */
export interface ActionCreatedJson {
  action: string;
}

/** A webhook delivery that failed for good (`GET /action/:id/dead_letters`). */
export interface DeadLetterJson {
  id: string;
  action: string;
  device: string | null;
  url: string;
  /** The last HTTP status; null when the last attempt got no response. */
  status: number | null;
  attempts: number;
  error: string;
  /** The JSON body that was to be delivered (text when it was cut short). */
  body: unknown;
  first_attempt_at: string;
  failed_at: string;
}

// ---- dashboards -----------------------------------------------------------------------------
// `/dashboard`, `/dashboard/:id/widget`, `/data/:dashboard/:widget` and `/share/:key/...`
// (docs/dashboards.md). Fields TagoIO defines and Sluice does not interpret (icon, background,
// theme, setup, a widget's display...) are kept as sent and come back as they were.

/** A widget's place on the grid (TagoIO's Arrangement); `tab` is a tab's `key`, null/absent: the first tab. */
export interface ArrangementJson {
  widget_id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  tab?: string | null;
  [extra: string]: unknown;
}

/** A tab of a dashboard: `key` is what arrangement items name, `value` what the tab shows. */
export interface TabJson {
  key: string;
  value: string;
  hidden?: boolean;
  [extra: string]: unknown;
}

/**
 * A device slot of a blueprint dashboard: the viewer picks one device among those whose tags
 * match every condition (`value` may hold `*` wildcards); widgets name the slot's `id` as a
 * data source's `origin`.
 */
export interface BlueprintDeviceJson {
  id: string;
  name: string;
  label?: string;
  conditions: TagJson[];
  [extra: string]: unknown;
}

/** The public link of a dashboard, without its key (shown once, when made). */
export interface DashboardShareJson {
  /** The key's first characters, to tell links apart. */
  prefix: string;
  created_at: string;
  /** "never", or when the link stops working. */
  expire_time: string;
}

/** A dashboard as `GET /dashboard/:id` answers (TagoIO's DashboardInfo). */
export interface DashboardJson {
  id: string;
  label: string;
  type: "dashboard" | "blueprint";
  visible: boolean;
  tags: TagJson[];
  arrangement: ArrangementJson[];
  tabs: TabJson[];
  blueprint_devices: BlueprintDeviceJson[];
  blueprint_device_behavior?: "more_than_one" | "always";
  blueprint_selector_behavior?: "open" | "closed" | "always_open" | "always_closed";
  created_at: string;
  updated_at: string;
  last_access: string | null;
  /** Sluice's: the dashboard's public link, or null. Not in the shared view. */
  public_share?: DashboardShareJson | null;
  [extra: string]: unknown;
}

/**
 * A data source of a widget (TagoIO's WidgetData): `origin` is a device id, or the `id` of a
 * blueprint device slot. What `GET /data/:dashboard/:widget` answers for it follows these
 * fields as `GET /data` would (`query`, `qty`, dates); the request's own `start_date`,
 * `end_date`, `qty` and `buckets` win.
 */
export interface WidgetSourceJson {
  origin: string;
  bucket?: string;
  variables?: string[];
  qty?: number;
  query?: string;
  start_date?: string | number;
  end_date?: string | number;
  timezone?: string;
  [extra: string]: unknown;
}

/** A widget as `GET /dashboard/:id/widget/:widget` answers (TagoIO's WidgetInfo). */
export interface WidgetJson {
  id: string;
  dashboard: string;
  label: string;
  type: string;
  display: unknown;
  data: WidgetSourceJson[];
  resource: unknown[];
  realtime: boolean | null;
  analysis_run: string | null;
  created_at: string;
  updated_at: string;
  [extra: string]: unknown;
}

/**
 * What one data source of a widget answered: records (as `GET /data`), a number (count, avg,
 * sum), aggregate or downsample buckets; `device` is the device actually read (for a blueprint
 * slot, the one picked). `error` instead when the source cannot be read (its device is gone).
 */
export interface WidgetSourceResultJson {
  origin: string;
  device: string | null;
  variables: string[] | null;
  query: string;
  result: unknown;
  error?: string;
}

/** `GET /data/:dashboard/:widget` (and `/share/:key/data/:widget`). */
export interface WidgetDataJson {
  widget: WidgetJson;
  result: WidgetSourceResultJson[];
}

/**
 * A downsample bucket (`query=downsample`, widget data with `buckets=`): the bucket is
 * [`time`, `end`); `value` is the average, so a client plotting `{ time, value }` as it does
 * records draws the mean line, and `min`/`max` give the band around it.
 */
export interface DownsampleBucketJson {
  device: string;
  variable: string;
  time: string;
  end: string;
  value: number;
  min: number;
  max: number;
  avg: number;
  count: number;
  first_time: string;
  last_time: string;
}

/**
 * An event of the `dashboard.<id>` channel: records just stored that some widget of the
 * dashboard shows; `widgets` on each record names which. `dropped`: records left out of this
 * event because it was full (`dashboards.liveRecordsPerEvent`); reload the widgets' data then.
 */
export interface DashboardLiveEventJson {
  dashboard: string;
  records: (DataRecordJson & { widgets: string[] })[];
  dropped?: number;
}


/** `GET /share/:key/dashboard`: what a public link shows. */
export interface SharedDashboardJson {
  dashboard: DashboardJson;
  widgets: WidgetJson[];
}

/** Devices a dashboard reads (`GET /dashboard/:id/devices`, `/share/:key/devices`); `blueprint_devices`: the slots it fits. */
export interface DashboardDeviceJson {
  id: string;
  name: string;
  blueprint_devices: string[];
  [extra: string]: unknown;
}

/** `GET /dashboard/:id/share/public` (TagoIO's PublicKeyResponse): the key, shown this once. */
export interface ShareKeyJson {
  token: string;
  expire_time: string;
}

/**
 * A dashboard exported (`GET /dashboard/:id/export`), imported by `POST /dashboard/import`:
 * nothing in it names this server's ids except device ids (`devices` lists those, with their
 * names at export; `device_map` on import replaces them); widgets are named by `ref`, which
 * arrangement items use as `widget_id`.
 */
export interface DashboardExportJson {
  format: "sluice-dashboard";
  version: 1;
  exported_at?: string;
  dashboard: Pick<DashboardJson, "label" | "type" | "visible" | "tags" | "arrangement" | "tabs" | "blueprint_devices" | "blueprint_device_behavior" | "blueprint_selector_behavior"> & {
    [extra: string]: unknown;
  };
  widgets: (Pick<WidgetJson, "label" | "type" | "display" | "data" | "resource" | "realtime" | "analysis_run"> & { ref: string; [extra: string]: unknown })[];
  devices?: { id: string; name: string }[];
}

/**
 * A control widget's MQTT downlink (push button, switch, slider), kept in its `display.downlink`:
 * `POST /dashboard/:id/widget/:widget/publish` publishes it to the device the widget reads.
 * `{{value}}` in `topic` or `payload` is replaced by the value sent (a button's configured value,
 * a switch's true/false, a slider's number); `{{device}}` by the device's id.
 */
export interface WidgetDownlinkJson {
  topic: string;
  payload: string;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** The body of `POST /dashboard/:id/widget/:widget/publish`. */
export interface WidgetPublishJson {
  value: string | number | boolean;
  /** On a blueprint dashboard: the device picked for the widget's slot. */
  device?: string;
}

/** What `POST /dashboard/:id/widget/:widget/publish` answers: where the message went. */
export interface WidgetPublishResultJson {
  topic: string;
  /** The payload's bytes. */
  bytes: number;
  device: string;
}
