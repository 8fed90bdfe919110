import { CronExpressionParser } from "cron-parser";
import { parseDuration } from "../data/dates.js";
import { invalid } from "../errors.js";
import { isValidTopicFilter } from "../mqtt/topics.js";
import type {
  ActionJson, ActionParams, Conditional, ConditionTrigger, DeviceEventTrigger, IntervalTrigger, MqttTopicTrigger, ScheduleTrigger, Trigger,
  TriggerKind, UsageAlertTrigger, UsageService,
} from "../http/api_types.js";

// The trigger rows and the action's params are part of the API's JSON: defined once, in
// api_types.ts (which the console reads too), and used here.
export type {
  ActionParams, Conditional, ConditionTrigger, DeviceEventTrigger, IntervalTrigger, MqttTopicTrigger, ScheduleTrigger, Trigger, TriggerKind,
  UsageAlertTrigger, UsageService,
};

/** TagoIO's service names that Sluice's plans bound (usage alerts watch these). */
export const USAGE_SERVICES = ["data_records", "analysis", "push_notification", "email", "device"] as const satisfies readonly UsageService[];

export interface Action {
  id: string;
  accountId: string;
  name: string;
  active: boolean;
  description: string | null;
  tags: { key: string; value: string }[];
  type: TriggerKind;
  trigger: Trigger[];
  action: ActionParams;
  /** Condition actions: true while locked (fired, waiting for the unlock condition). */
  lock: boolean;
  trigger_when_unlock: boolean;
  last_triggered: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const KINDS: readonly TriggerKind[] = ["mqtt_topic", "condition", "interval", "schedule", "usage_alert", "mqtt_connect", "mqtt_disconnect"];
const CONDITIONALS: readonly string[] = ["<", ">", "=", "!", "><", "*"];

function str(v: unknown): v is string {
  return typeof v === "string" && v.length > 0;
}

/** Validates one trigger row for `kind`; errors name the row. */
export function validateTrigger(kind: TriggerKind, row: unknown, i: number): Trigger {
  const r = (row ?? {}) as Record<string, unknown>;
  const where = `trigger[${i}]`;
  switch (kind) {
    case "mqtt_topic": {
      if (!str(r.topic) || !isValidTopicFilter(r.topic)) throw invalid(`${where}.topic must be a valid MQTT topic filter`);
      if (!str(r.device) && !(str(r.tag_key) && typeof r.tag_value === "string")) {
        throw invalid(`${where} needs a device or a tag_key and tag_value`);
      }
      return {
        topic: r.topic,
        ...(str(r.device) ? { device: r.device } : { tag_key: r.tag_key as string, tag_value: r.tag_value as string }),
      };
    }
    case "condition": {
      if (!str(r.device) || !str(r.variable)) throw invalid(`${where} needs device and variable`);
      if (typeof r.is !== "string" || !CONDITIONALS.includes(r.is)) throw invalid(`${where}.is must be one of ${CONDITIONALS.join(" ")}`);
      const valueType = r.value_type ?? "*";
      if (!["string", "number", "boolean", "*"].includes(valueType as string)) throw invalid(`${where}.value_type is invalid`);
      if (r.is !== "*" && r.value === undefined) throw invalid(`${where}.value is required`);
      if (r.is === "><" && r.second_value === undefined) throw invalid(`${where}.second_value is required for a range`);
      return {
        device: r.device, variable: r.variable.toLowerCase(), is: r.is as Conditional, value: String(r.value ?? ""),
        ...(r.second_value !== undefined ? { second_value: String(r.second_value) } : {}),
        value_type: valueType as ConditionTrigger["value_type"], unlock: r.unlock === true,
      };
    }
    case "interval": {
      if (!str(r.interval) || intervalMs(r.interval) === undefined) throw invalid(`${where}.interval must look like "5 minutes"`);
      return { interval: r.interval };
    }
    case "schedule": {
      if (!str(r.cron)) throw invalid(`${where}.cron is required`);
      const timezone = typeof r.timezone === "string" && r.timezone !== "" ? r.timezone : "UTC";
      try {
        CronExpressionParser.parse(r.cron, { tz: timezone });
      } catch (err) {
        throw invalid(`${where}: ${(err as Error).message}`);
      }
      return { cron: r.cron, timezone };
    }
    case "usage_alert": {
      if (!(USAGE_SERVICES as readonly unknown[]).includes(r.service_or_resource)) {
        throw invalid(`${where}.service_or_resource must be one of ${USAGE_SERVICES.join(", ")}`);
      }
      if (r.condition !== "=" && r.condition !== ">") throw invalid(`${where}.condition must be = or >`);
      const value = Number(r.condition_value);
      if (!Number.isFinite(value) || value <= 0 || value > 100) throw invalid(`${where}.condition_value must be a percentage above 0 and at most 100`);
      return { service_or_resource: r.service_or_resource as UsageService, condition: r.condition, condition_value: value };
    }
    case "mqtt_connect":
    case "mqtt_disconnect": {
      if (!str(r.device) && !(str(r.tag_key) && typeof r.tag_value === "string")) {
        throw invalid(`${where} needs a device or a tag_key and tag_value`);
      }
      return str(r.device) ? { device: r.device } : { tag_key: r.tag_key as string, tag_value: r.tag_value as string };
    }
  }
}

/** "5 minutes" → ms; undefined when not understood or under a second (a busy loop otherwise). */
export function intervalMs(text: string): number | undefined {
  const ms = parseDuration(text);
  return ms !== undefined && ms >= 1000 ? ms : undefined;
}

export function validateKind(kind: unknown): TriggerKind {
  if (typeof kind !== "string" || !KINDS.includes(kind as TriggerKind)) {
    throw invalid(`type must be one of ${KINDS.join(", ")}`);
  }
  return kind as TriggerKind;
}

/** The SDK's ActionInfo shape. */
export function actionInfo(a: Action): ActionJson {
  return {
    id: a.id, name: a.name, active: a.active, description: a.description, tags: a.tags, type: a.type,
    trigger: a.trigger, action: a.action, lock: a.lock, trigger_when_unlock: a.trigger_when_unlock,
    last_triggered: a.last_triggered ? a.last_triggered.toISOString() : "never",
    profile: a.accountId, created_at: a.createdAt.toISOString(), updated_at: a.updatedAt.toISOString(),
  };
}
