/**
 * The relay form's state and its translation to the API's body. Numbers stay text while typed
 * (an empty port means "the default"); credentials are write-only: the form never holds a
 * stored password or key, only what the user typed or chose to replace or remove.
 */
import type { RelayInputJson, RelayJson, RelayKeyMatch } from "../../../../src/http/api_types.js";

export interface SubscriptionRow {
  row: number;
  topic: string;
  qos: 0 | 1 | 2;
}

/** What to do with a stored secret: keep it, set a new value, or remove it. */
export type SecretChange = { kind: "keep" } | { kind: "set"; value: string } | { kind: "clear" };

export interface Draft {
  name: string;
  active: boolean;
  host: string;
  port: string;
  tls: boolean;
  protocol_version: 4 | 5;
  client_id: string;
  keepalive: string;
  clean: boolean;
  username: string;
  password: SecretChange;
  ca: string | null;
  cert: string | null;
  key: SecretChange;
  subscriptions: SubscriptionRow[];
  source: "topic" | "json" | "fixed";
  index: string;
  field: string;
  device: string;
  match: RelayKeyMatch;
  tag_key: string;
  downlink_topic: string;
  forward_to_broker: boolean;
  max_queue: string;
  reconnect_min_ms: string;
  reconnect_max_ms: string;
}

let rows = 0;
export const subscriptionRow = (topic = "", qos: 0 | 1 | 2 = 1): SubscriptionRow => ({ row: rows++, topic, qos });

export function emptyDraft(): Draft {
  return {
    name: "", active: true, host: "", port: "", tls: false, protocol_version: 4, client_id: "", keepalive: "60", clean: false,
    username: "", password: { kind: "keep" }, ca: null, cert: null, key: { kind: "keep" },
    subscriptions: [subscriptionRow()], source: "topic", index: "-1", field: "", device: "", match: "serial", tag_key: "",
    downlink_topic: "", forward_to_broker: true, max_queue: "1000", reconnect_min_ms: "1000", reconnect_max_ms: "60000",
  };
}

export function draftOf(relay: RelayJson): Draft {
  const m = relay.mapping;
  return {
    name: relay.name, active: relay.active, host: relay.host, port: String(relay.port), tls: relay.tls,
    protocol_version: relay.protocol_version, client_id: relay.client_id, keepalive: String(relay.keepalive), clean: relay.clean,
    username: relay.username ?? "", password: { kind: "keep" }, ca: relay.ca, cert: relay.cert, key: { kind: "keep" },
    subscriptions: relay.subscriptions.map((s) => subscriptionRow(s.topic, s.qos)),
    source: m.source,
    index: m.source === "topic" ? String(m.index) : "-1",
    field: m.source === "json" ? m.field : "",
    device: m.source === "fixed" ? m.device : "",
    match: m.source === "fixed" ? "serial" : m.match,
    tag_key: m.source !== "fixed" ? (m.tag_key ?? "") : "",
    downlink_topic: relay.downlink_topic ?? "", forward_to_broker: relay.forward_to_broker, max_queue: String(relay.max_queue),
    reconnect_min_ms: String(relay.reconnect_min_ms), reconnect_max_ms: String(relay.reconnect_max_ms),
  };
}

/** Text as the API takes a number: as typed (it names a bad value itself), or left out when empty. */
const num = (text: string): number | string | undefined => {
  const t = text.trim();
  if (t === "") return undefined;
  return /^-?\d+$/.test(t) ? Number(t) : t;
};

function mapping(d: Draft): RelayInputJson["mapping"] {
  const keyed = { match: d.match, ...(d.match === "tag" && { tag_key: d.tag_key }) };
  if (d.source === "fixed") return { source: "fixed", device: d.device.trim() };
  if (d.source === "json") return { source: "json", field: d.field.trim(), ...keyed };
  return { source: "topic", index: (num(d.index) ?? -1) as number, ...keyed };
}

/** The body of `POST /relay` (creating) or `PUT /relay/:id`. */
export function bodyOf(d: Draft, creating: boolean): RelayInputJson {
  const body: Record<string, unknown> = {
    name: d.name,
    active: d.active,
    host: d.host.trim(),
    tls: d.tls,
    protocol_version: d.protocol_version,
    clean: d.clean,
    username: d.username === "" ? null : d.username,
    ca: d.ca,
    cert: d.cert,
    subscriptions: d.subscriptions.filter((s) => s.topic.trim() !== "").map((s) => ({ topic: s.topic.trim(), qos: s.qos })),
    mapping: mapping(d),
    downlink_topic: d.downlink_topic.trim() === "" ? null : d.downlink_topic.trim(),
    forward_to_broker: d.forward_to_broker,
  };
  for (const k of ["port", "keepalive", "max_queue", "reconnect_min_ms", "reconnect_max_ms"] as const) {
    const v = num(d[k]);
    if (v !== undefined) body[k] = v;
  }
  if (d.client_id.trim() !== "" || !creating) body.client_id = d.client_id.trim();
  for (const k of ["password", "key"] as const) {
    const change = d[k];
    if (change.kind === "set") body[k] = change.value;
    else if (change.kind === "clear" && !creating) body[k] = null;
  }
  return body as RelayInputJson;
}

/**
 * A broker URL pasted into the host field (`mqtts://broker.example.com:8883`) fills host, port
 * and TLS; a plain host name is kept as typed.
 */
export function withHost(d: Draft, typed: string): Draft {
  const url = /^\s*(mqtts?|ssl|tls|tcp|mqtt\+ssl):\/\/(\[[^\]]+\]|[^:/\s]+)(?::(\d{1,5}))?\/?\s*$/i.exec(typed);
  if (!url) return { ...d, host: typed };
  const tls = /^(mqtts|ssl|tls|mqtt\+ssl)$/i.test(url[1]!);
  return { ...d, host: url[2]!.replace(/^\[|\]$/g, ""), tls, port: url[3] ?? (tls ? "8883" : "1883") };
}
