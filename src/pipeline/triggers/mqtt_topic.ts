import { topicMatches } from "../../mqtt/topics.js";
import type { DeviceRow } from "../../store/types.js";
import type { Action, MqttTopicTrigger } from "../action_model.js";

/** Whether one trigger row selects `device` (by id, or by one of its tags). */
function selects(row: MqttTopicTrigger, device: DeviceRow): boolean {
  if (row.device !== undefined) return row.device === device.id;
  return device.tags.some((t) => t.key === row.tag_key && t.value === row.tag_value);
}

/** The active mqtt_topic actions of which some row matches this device and topic (each once). */
export function matchMqttActions(actions: readonly Action[], device: DeviceRow, topic: string): Action[] {
  return actions.filter(
    (a) => a.active && a.type === "mqtt_topic" && (a.trigger as MqttTopicTrigger[]).some((row) => selects(row, device) && topicMatches(row.topic, topic)),
  );
}
