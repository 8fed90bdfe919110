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
