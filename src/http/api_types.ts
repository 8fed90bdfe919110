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
