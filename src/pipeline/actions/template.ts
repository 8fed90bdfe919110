import type { ActionContext } from "./registry.js";

/**
 * The placeholders an action's texts (topic, payload, message, subject, URL...) may hold, as
 * TagoIO users write them: `$VALUE$`, `$VARIABLE$`, `$UNIT$`, `$GROUP$`, `$TIME$`, `$SERIE$`
 * (from the first triggering record), `$DEVICE_ID$` (also `$DEVICE$`), `$DEVICE_NAME$`,
 * `$TOPIC$`, `$PAYLOAD$` (from the triggering MQTT message), `$ACTION_ID$`, `$ACTION_NAME$`,
 * `$EVENT$` (mqtt_connect, mqtt_disconnect...) and `$REASON$` (why a device disconnected).
 * An unknown placeholder is left as written, so a literal `$` never vanishes.
 */
export function templateValues({ action, records, device, message, event }: ActionContext): Record<string, string> {
  const r = records[0];
  return {
    VARIABLE: r?.variable ?? "",
    VALUE: r?.value === null || r?.value === undefined ? "" : String(r.value),
    UNIT: r?.unit ?? "",
    GROUP: r?.group ?? "",
    SERIE: r?.group ?? "",
    TIME: r ? r.time.toISOString() : new Date().toISOString(),
    DEVICE: device?.id ?? "",
    DEVICE_ID: device?.id ?? "",
    DEVICE_NAME: device?.name ?? "",
    TOPIC: message?.topic ?? "",
    PAYLOAD: message ? message.payload.toString("utf8") : "",
    ACTION_ID: action.id,
    ACTION_NAME: action.name,
    EVENT: event?.kind ?? "",
    REASON: event?.reason ?? "",
  };
}

export function fillTemplate(template: string, context: ActionContext): string {
  const values = templateValues(context);
  return template.replace(/\$([A-Z_]+)\$/g, (whole, key: string) => values[key] ?? whole);
}
