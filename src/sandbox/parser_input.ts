import type { RecordInput } from "../data/types.js";

// Fatal: a payload that is not UTF-8 must be told apart, not silently patched with U+FFFD.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The records a published MQTT message enters the pipeline (and the device's parser) with
 * (SPEC: "How a published message enters the data pipeline"):
 * - JSON in the data format (one record, or an array of records, each an object with a string
 *   `variable`) keeps its records; each gets `metadata.topic`, merged into its own metadata
 *   (the topic wins over a `topic` the device put there; metadata that is not an object is
 *   replaced, since it would fail validation anyway);
 * - anything else becomes one record `{ variable: "payload", value: <payload as text>,
 *   metadata: { topic, mqtt_topic } }`. Bytes that are not valid UTF-8 are given as lowercase
 *   hex, with `metadata.encoding = "hex"`: hex is what TagoIO parsers decode binary uplinks
 *   from (`Buffer.from(value, "hex")`), and nothing is lost.
 */
export function toParserInput(topic: string, payload: Buffer): RecordInput[] {
  let text: string;
  try {
    text = strictUtf8.decode(payload);
  } catch {
    return [{ variable: "payload", value: payload.toString("hex"), metadata: { topic, mqtt_topic: topic, encoding: "hex" } }];
  }
  const records = dataFormatRecords(text);
  if (records) return records.map((record) => ({ ...record, metadata: { ...(isObject(record.metadata) ? record.metadata : {}), topic } }));
  return [{ variable: "payload", value: text, metadata: { topic, mqtt_topic: topic } }];
}

/**
 * The records an HTTP device's `POST /data` body enters the pipeline (and the device's parser)
 * with, before anything validates them (SPEC: "Payload parsers", `payload` is the records as
 * they arrived; so a parser can take vendor JSON such as SenML or a flat object): an array
 * as it is, anything else (one record, a vendor's flat object, even a scalar) as the one item
 * of a list. Nothing is added (no topic) and nothing is checked: validation as records comes
 * after the parser. `POST /device/:id/parser/test` with `door: "http"` calls this same
 * function, so the emulator cannot disagree with the real door.
 */
export function httpParserInput(body: unknown): RecordInput[] {
  return (Array.isArray(body) ? body : [body]) as RecordInput[];
}

/** The records `text` holds when it is JSON in the data format, else undefined. */
function dataFormatRecords(text: string): RecordInput[] | undefined {
  const start = text.trimStart()[0];
  if (start !== "{" && start !== "[") return undefined; // spares JSON.parse on the common raw payloads
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.every(isRecord) ? list : undefined;
}

function isRecord(value: unknown): value is RecordInput {
  return isObject(value) && typeof value.variable === "string";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
