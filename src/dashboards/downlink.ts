/**
 * A control widget's MQTT downlink (`display.downlink`, WidgetDownlinkJson): what
 * `POST /dashboard/:id/widget/:widget/publish` sends. The widget's `display` is stored as sent
 * (model.ts keeps TagoIO's display fields unread), so the downlink is checked here, when it is
 * used, and every bound holds after `{{value}}` and `{{device}}` are substituted: a template
 * within the widget's bytes cannot grow into a huge message by repeating `{{value}}`.
 */
import { InvalidField, invalid } from "../errors.js";
import type { WidgetDownlinkJson } from "../http/api_types.js";
import { isValidTopicName } from "../mqtt/topics.js";

/** A published message's payload, as `/analysis/services/mqtt/publish` bounds it. */
export const MAX_MQTT_MESSAGE_BYTES = 256 * 1024;
/** A downlink's topic after substitution (MQTT allows 65 535; no device needs that). */
export const MAX_DOWNLINK_TOPIC_BYTES = 1024;
/** A value sent by a control: a string's UTF-8 bytes (numbers and booleans are short). */
export const MAX_PUBLISH_VALUE_BYTES = 1024;

export interface DownlinkPacket {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** The value of a publish request: a string, a finite number or a boolean, bounded. */
export function publishValue(value: unknown): string | number | boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw invalid("value must be a finite number");
    return value;
  }
  if (typeof value === "string") {
    if (Buffer.byteLength(value, "utf8") > MAX_PUBLISH_VALUE_BYTES) throw invalid(`value is longer than ${MAX_PUBLISH_VALUE_BYTES} bytes`);
    return value;
  }
  throw invalid("value is required: a string, a number or a boolean");
}

/** The widget's `display.downlink`, checked as a template (400 naming the field when it is not one). */
export function readDownlink(display: unknown): WidgetDownlinkJson {
  const downlink = isObject(display) ? display.downlink : undefined;
  if (downlink === undefined || downlink === null) throw invalid("this widget has no MQTT downlink: set display.downlink { topic, payload, qos, retain }");
  if (!isObject(downlink)) throw new InvalidField("display.downlink", "must be an object { topic, payload, qos, retain }");
  const { topic, payload, qos, retain } = downlink;
  if (typeof topic !== "string" || topic === "") throw new InvalidField("display.downlink.topic", "must be a topic name");
  if (payload !== undefined && typeof payload !== "string") throw new InvalidField("display.downlink.payload", "must be a string");
  const q = qos === undefined ? 0 : qos;
  if (q !== 0 && q !== 1 && q !== 2) throw new InvalidField("display.downlink.qos", "must be 0, 1 or 2");
  if (retain !== undefined && typeof retain !== "boolean") throw new InvalidField("display.downlink.retain", "must be true or false");
  return { topic, payload: payload ?? "{{value}}", qos: q, retain: retain === true };
}

/**
 * The message to publish: the downlink with `{{value}}` and `{{device}}` replaced (a value is
 * written as JSON would write it, strings without quotes). The topic must be a valid topic
 * name once substituted (no wildcards, not a `$` topic, which are the broker's own), and the
 * sizes are checked before the payload is built.
 */
export function downlinkPacket(downlink: WidgetDownlinkJson, value: string | number | boolean, deviceId: string): DownlinkPacket {
  const values = { value: String(value), device: deviceId };
  const topic = substitute(downlink.topic, values, MAX_DOWNLINK_TOPIC_BYTES, "display.downlink.topic");
  if (!isValidTopicName(topic)) throw new InvalidField("display.downlink.topic", `is not a valid topic name once substituted ("${topic.slice(0, 100)}"): no + or # wildcards, no NUL`);
  if (topic.startsWith("$")) throw new InvalidField("display.downlink.topic", "must not start with $ (topics of the broker itself)");
  const payload = substitute(downlink.payload, values, MAX_MQTT_MESSAGE_BYTES, "display.downlink.payload");
  return { topic, payload: Buffer.from(payload, "utf8"), qos: downlink.qos, retain: downlink.retain };
}

const PLACEHOLDER = /\{\{(value|device)\}\}/g;

/** `template` with its placeholders replaced, refused (before building it) past `maxBytes`. */
function substitute(template: string, values: { value: string; device: string }, maxBytes: number, path: string): string {
  let bytes = Buffer.byteLength(template, "utf8");
  for (const match of template.matchAll(PLACEHOLDER)) {
    bytes += Buffer.byteLength(values[match[1] as "value" | "device"], "utf8") - match[0].length;
  }
  if (bytes > maxBytes) throw new InvalidField(path, `would be ${bytes} bytes once substituted, over ${maxBytes}`);
  return template.replace(PLACEHOLDER, (_, name: "value" | "device") => values[name]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
