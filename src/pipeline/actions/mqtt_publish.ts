import { invalid } from "../../errors.js";
import { isValidTopicName } from "../../mqtt/topics.js";
import type { ActionContext, ActionHandler } from "./registry.js";

/**
 * "MQTT publish": publishes `payload` to `topic`, to the subscribers of one device
 * (`bucket` = its id) or of the whole account (no `bucket`). Both may hold placeholders:
 * `$VARIABLE$`, `$VALUE$`, `$UNIT$`, `$GROUP$`, `$TIME$`, `$DEVICE$` (from the first
 * triggering record and its device), `$TOPIC$` and `$PAYLOAD$` (from the triggering message).
 */
export const mqttPublishAction: ActionHandler = {
  type: "mqtt",
  stores: false,
  validate(params) {
    if (typeof params.topic !== "string" || params.topic === "") throw invalid("action.topic is required");
    if (params.payload !== undefined && typeof params.payload !== "string") throw invalid("action.payload must be a string");
    const qos = params.qos === undefined ? 0 : Number(params.qos);
    if (![0, 1, 2].includes(qos)) throw invalid("action.qos must be 0, 1 or 2");
    return {
      type: "mqtt", topic: params.topic, payload: params.payload ?? "", qos, retain: params.retain === true,
      ...(typeof params.bucket === "string" && params.bucket !== "" ? { bucket: params.bucket } : {}),
    };
  },
  async run(context, { publish }) {
    const p = context.action.action;
    const topic = fill(String(p.topic), context);
    if (!isValidTopicName(topic)) throw invalid(`the topic "${topic}" is not a valid topic name`);
    const payload = Buffer.from(fill(String(p.payload ?? ""), context));
    const target = typeof p.bucket === "string" ? p.bucket : undefined;
    publish(context.action.accountId, { topic, payload, qos: Number(p.qos ?? 0) as 0 | 1 | 2, retain: p.retain === true }, target);
    return { summary: `published ${payload.length} bytes to ${topic}${target ? ` for device ${target}` : ""}` };
  },
};

function fill(template: string, { records, device, message }: ActionContext): string {
  const r = records[0];
  const values: Record<string, string> = {
    VARIABLE: r?.variable ?? "",
    VALUE: r?.value === null || r?.value === undefined ? "" : String(r.value),
    UNIT: r?.unit ?? "",
    GROUP: r?.group ?? "",
    TIME: r ? r.time.toISOString() : new Date().toISOString(),
    DEVICE: device?.id ?? "",
    TOPIC: message?.topic ?? "",
    PAYLOAD: message ? message.payload.toString("utf8") : "",
  };
  return template.replace(/\$([A-Z]+)\$/g, (whole, key: string) => values[key] ?? whole);
}
