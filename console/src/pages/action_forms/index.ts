/**
 * Every trigger kind and action type the console can edit, in the order the form offers them.
 * A new one is a module in this folder (a TriggerForm or an ActionForm, see types.ts) and one
 * line here. A kind or type the server has and the console does not is still shown read-only
 * on the action page, never lost on save.
 */
import { conditionTrigger } from "./condition.js";
import { emailAction } from "./email.js";
import { insertBucketAction } from "./insert_bucket.js";
import { intervalTrigger } from "./interval.js";
import { mqttAction } from "./mqtt.js";
import { mqttConnectTrigger } from "./mqtt_connect.js";
import { mqttDisconnectTrigger } from "./mqtt_disconnect.js";
import { mqttTopicTrigger } from "./mqtt_topic.js";
import { notificationAction } from "./notification.js";
import { postAction } from "./post.js";
import { scheduleTrigger } from "./schedule.js";
import { scriptAction } from "./script.js";
import type { ActionForm, TriggerForm } from "./types.js";
import { usageAlertTrigger } from "./usage_alert.js";

export const TRIGGER_FORMS: readonly TriggerForm[] = [
  mqttTopicTrigger,
  conditionTrigger,
  intervalTrigger,
  scheduleTrigger,
  mqttConnectTrigger,
  mqttDisconnectTrigger,
  usageAlertTrigger,
];

export const ACTION_FORMS: readonly ActionForm[] = [insertBucketAction, scriptAction, postAction, notificationAction, emailAction, mqttAction];

export const triggerForm = (kind: string) => TRIGGER_FORMS.find((f) => f.kind === kind);
export const actionForm = (type: string) => ACTION_FORMS.find((f) => f.type === type);
