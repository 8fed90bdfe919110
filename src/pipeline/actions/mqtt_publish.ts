import { invalid } from "../../errors.js";
import { isValidTopicName } from "../../mqtt/topics.js";
import type { ActionHandler } from "./registry.js";
import { fillTemplate } from "./template.js";

/**
 * "MQTT publish": publishes `payload` to `topic`, to the subscribers of one device
 * (`bucket` = its id) or of the whole account (no `bucket`). Both may hold the placeholders
 * of template.ts.
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
    const topic = fillTemplate(String(p.topic), context);
    if (!isValidTopicName(topic)) throw invalid(`the topic "${topic}" is not a valid topic name`);
    const payload = Buffer.from(fillTemplate(String(p.payload ?? ""), context));
    const target = typeof p.bucket === "string" ? p.bucket : undefined;
    publish(context.action.accountId, { topic, payload, qos: Number(p.qos ?? 0) as 0 | 1 | 2, retain: p.retain === true }, target);
    return { summary: `published ${payload.length} bytes to ${topic}${target ? ` for device ${target}` : ""}` };
  },
};
