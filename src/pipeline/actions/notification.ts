import { invalid } from "../../errors.js";
import type { NotificationService } from "../../notify/notification_service.js";
import type { ActionHandler } from "./registry.js";
import { fillTemplate } from "./template.js";

/**
 * "Notification" (in-app): adds a notification to the account's list and its live
 * `notification` channel. The SDK writes the title as `subject`; `title` is accepted too, and
 * the action's name stands in when neither is given. Both texts take template.ts placeholders.
 */
export function notificationAction(notifications: Pick<NotificationService, "send">): ActionHandler {
  return {
    type: "notification",
    stores: false,
    validate(params) {
      if (typeof params.message !== "string" || params.message.trim() === "") throw invalid("action.message is required");
      const subject = params.subject ?? params.title;
      if (subject !== undefined && typeof subject !== "string") throw invalid("action.subject must be a string");
      return { type: "notification", message: params.message, ...(subject ? { subject } : {}) };
    },
    async run(context) {
      const p = context.action.action;
      const title = fillTemplate(typeof p.subject === "string" ? p.subject : context.action.name, context);
      const message = fillTemplate(String(p.message), context);
      const info = await notifications.send(context.action.accountId, { title, message });
      return { summary: `notification "${title}" (${info.id})` };
    },
  };
}
