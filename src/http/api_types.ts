/**
 * JSON shapes of the public HTTP API, shared by the routes that build them and by the console
 * (console/src/api), which imports this file's types directly: one definition, no copies.
 * Keep this module free of runtime imports so a browser build can read it.
 */
import type { InspectorEventJson } from "../inspector/serialize.js";
import type { InspectorEventKind } from "../inspector/types.js";

export type { InspectorEventJson, InspectorEventKind };

/** TagoIO's envelopes: the SDK reads `result` when `status` is true, else `message`. */
export type Envelope<T> = { status: true; result: T } | { status: false; message: string; result?: unknown };

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

/** `result` of the 400 answer of `POST /device/:id/parser/test` when the parser failed. */
export interface ParserTestFailureJson {
  kind: "compile" | "exception" | "timeout" | "memory" | "invalid_output";
  logs: ParserLogJson[];
  /** Line of the parser script where it failed (1-based): compile errors and exceptions. */
  line?: number;
}
