import { createSecureContext } from "node:tls";
import { invalid } from "../errors.js";
import type { RelayDeviceMapping, RelayJson, RelayKeyMatch, RelaySecretMask, RelaySettingsJson, RelaySubscriptionJson } from "../http/api_types.js";
import { isValidTopicFilter, isValidTopicName } from "../mqtt/topics.js";

/** How a relayed message names its device (see device_mapping.ts); the API's own shapes. */
export type DeviceMapping = RelayDeviceMapping;
/**
 * What the key taken from a topic segment or payload field is compared with: a device token's
 * `serie_number` (TagoIO's "serial"), the value of a device tag (`tag_key`), or the device id.
 */
export type KeyMatch = RelayKeyMatch;
export type RelaySubscription = RelaySubscriptionJson;
/** A relay's settings, as stored (credentials apart, see `RelaySecretsPlain`). */
export type RelaySettings = RelaySettingsJson;

export interface RelaySecretsPlain {
  password?: string;
  key?: string;
}

export interface Relay {
  id: string;
  accountId: string;
  settings: RelaySettings;
  /** Encrypted values by field (relay/secrets.ts). */
  secrets: { password?: string; key?: string };
  createdAt: Date;
  updatedAt: Date;
}

/** What the API returns in place of a stored secret. */
export const MASK: RelaySecretMask = "********";

export const DEFAULT_MAX_QUEUE = 1000;
const MAX_MAX_QUEUE = 1_000_000;
const MAX_SUBSCRIPTIONS = 100;
const MAX_PEM = 64 * 1024;

type Input = Record<string, unknown>;

/**
 * Validates a create (`current` undefined) or an edit (fields absent keep their value) and
 * returns the new settings, and the secrets to set: a string sets, null clears, absent or the
 * mask keeps.
 */
export function validateRelayInput(
  input: unknown,
  current: RelaySettings | undefined,
  relayId: string,
): { settings: RelaySettings; secrets: { password?: string | null; key?: string | null } } {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw invalid("the body must be an object");
  const body = input as Input;
  const has = (k: string) => body[k] !== undefined;
  const base: RelaySettings = current ?? {
    name: "", active: true, host: "", port: 1883, tls: false, ca: null, cert: null, username: null,
    client_id: `sluice-relay-${relayId}`, protocol_version: 4, keepalive: 60, clean: false, subscriptions: [],
    mapping: { source: "topic", index: -1, match: "serial" }, downlink_topic: null, forward_to_broker: true, max_queue: DEFAULT_MAX_QUEUE,
    reconnect_min_ms: 1000, reconnect_max_ms: 60_000,
  };
  const s: RelaySettings = structuredClone(base);

  if (!current || has("name")) s.name = nonEmpty(body.name, "name");
  if (has("active")) s.active = bool(body.active, "active");
  if (!current || has("host")) s.host = nonEmpty(body.host, "host");
  if (has("tls")) s.tls = bool(body.tls, "tls");
  if (has("port")) s.port = int(body.port, "port", 1, 65535);
  else if (!current) s.port = s.tls ? 8883 : 1883;
  if (has("ca")) s.ca = certificates(pem(body.ca, "ca"), "ca");
  if (has("cert")) s.cert = pem(body.cert, "cert");
  if (has("username")) s.username = body.username === null ? null : str(body.username, "username");
  if (has("client_id")) s.client_id = nonEmpty(body.client_id, "client_id");
  if (has("protocol_version")) s.protocol_version = protocolVersion(body.protocol_version);
  if (has("keepalive")) s.keepalive = int(body.keepalive, "keepalive", 0, 65535);
  if (has("clean")) s.clean = bool(body.clean, "clean");
  if (!current || has("subscriptions")) s.subscriptions = subscriptions(body.subscriptions);
  if (!current || has("mapping")) s.mapping = mapping(body.mapping);
  if (has("downlink_topic")) s.downlink_topic = body.downlink_topic === null || body.downlink_topic === "" ? null : downlinkTopic(body.downlink_topic);
  if (has("forward_to_broker")) s.forward_to_broker = bool(body.forward_to_broker, "forward_to_broker");
  if (has("max_queue")) s.max_queue = int(body.max_queue, "max_queue", 0, MAX_MAX_QUEUE);
  if (has("reconnect_min_ms")) s.reconnect_min_ms = int(body.reconnect_min_ms, "reconnect_min_ms", 100, 3_600_000);
  if (has("reconnect_max_ms")) s.reconnect_max_ms = int(body.reconnect_max_ms, "reconnect_max_ms", 100, 3_600_000);
  if (s.reconnect_max_ms < s.reconnect_min_ms) throw invalid("reconnect_max_ms must not be below reconnect_min_ms");

  const secrets: { password?: string | null; key?: string | null } = {};
  for (const field of ["password", "key"] as const) {
    const v = body[field];
    if (v === undefined || v === MASK) continue;
    if (v === null || v === "") secrets[field] = null;
    else if (field === "key") secrets.key = pem(v, "key");
    else secrets.password = str(v, field);
  }
  return { settings: s, secrets };
}

/** The API's view: settings, `password`/`key` masked when set, never their values. */
export function relayInfo(relay: Relay): Omit<RelayJson, "status"> {
  return {
    id: relay.id,
    ...relay.settings,
    password: relay.secrets.password ? MASK : null,
    key: relay.secrets.key ? MASK : null,
    created_at: relay.createdAt.toISOString(),
    updated_at: relay.updatedAt.toISOString(),
  };
}

function nonEmpty(v: unknown, field: string): string {
  if (typeof v !== "string" || v.trim() === "") throw invalid(`${field} is required`);
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string") throw invalid(`${field} must be a string`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== "boolean") throw invalid(`${field} must be true or false`);
  return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) throw invalid(`${field} must be an integer from ${min} to ${max}`);
  return n;
}

function pem(v: unknown, field: string): string | null {
  if (v === null || v === "") return null;
  if (typeof v !== "string" || !v.includes("-----BEGIN ")) throw invalid(`${field} must be PEM text`);
  if (v.length > MAX_PEM) throw invalid(`${field} is longer than ${MAX_PEM} characters`);
  return v;
}

/** PEM certificates that TLS can actually load (a CA bundle that fails here would fail every connect). */
function certificates(v: string | null, field: string): string | null {
  if (v === null) return null;
  try {
    createSecureContext({ ca: v });
  } catch (err) {
    throw invalid(`${field}: ${(err as Error).message}`);
  }
  return v;
}

function protocolVersion(v: unknown): 4 | 5 {
  if (v === 4 || v === "4" || v === "3.1.1") return 4;
  if (v === 5 || v === "5" || v === "5.0") return 5;
  throw invalid(`protocol_version must be "3.1.1" (4) or "5" (5)`);
}

function subscriptions(v: unknown): RelaySubscription[] {
  if (!Array.isArray(v) || v.length === 0) throw invalid("subscriptions must be a non-empty list of { topic, qos }");
  if (v.length > MAX_SUBSCRIPTIONS) throw invalid(`at most ${MAX_SUBSCRIPTIONS} subscriptions`);
  return v.map((row: unknown, i) => {
    const r = (typeof row === "string" ? { topic: row } : row) as Input | null;
    if (typeof r !== "object" || r === null || typeof r.topic !== "string" || !isValidTopicFilter(r.topic)) {
      throw invalid(`subscriptions[${i}].topic must be a topic filter`);
    }
    const qos = r.qos === undefined ? 1 : Number(r.qos);
    if (qos !== 0 && qos !== 1 && qos !== 2) throw invalid(`subscriptions[${i}].qos must be 0, 1 or 2`);
    return { topic: r.topic, qos };
  });
}

function keyMatch(m: Input): { match: KeyMatch; tag_key?: string } {
  const match = m.match ?? "serial";
  if (match !== "serial" && match !== "tag" && match !== "id") throw invalid(`mapping.match must be serial, tag or id`);
  if (match !== "tag") return { match };
  return { match, tag_key: nonEmpty(m.tag_key, "mapping.tag_key") };
}

function mapping(v: unknown): DeviceMapping {
  if (typeof v !== "object" || v === null) throw invalid("mapping is required: { source: fixed | topic | json, ... }");
  const m = v as Input;
  switch (m.source) {
    case "fixed":
      return { source: "fixed", device: nonEmpty(m.device, "mapping.device") };
    case "topic": {
      // Negative indexes count from the end: -1 is the last level, TagoIO's usual serial.
      const index = int(m.index ?? -1, "mapping.index", -64, 63);
      return { source: "topic", index, ...keyMatch(m) };
    }
    case "json": {
      const field = nonEmpty(m.field, "mapping.field");
      return { source: "json", field, ...keyMatch(m) };
    }
    default:
      throw invalid("mapping.source must be fixed, topic or json");
  }
}

function downlinkTopic(v: unknown): string {
  const t = nonEmpty(v, "downlink_topic");
  // Placeholders filled with sample text must leave a valid topic name.
  if (!isValidTopicName(t.replace(/\$[A-Z_]+\$/g, "x"))) throw invalid("downlink_topic must be a topic name (placeholders $SERIAL$, $DEVICE$, $TOPIC$ allowed)");
  return t;
}
