import { invalid } from "../../errors.js";
import type { InspectorSink } from "../../inspector/types.js";
import { MailError, validateMail, type Mailer } from "../../notify/mailer.js";
import type { Logger } from "../../observability/logger.js";
import type { ActionHandler } from "./registry.js";
import { fillTemplate } from "./template.js";

/**
 * "Send email": mails `message` with `subject` to `to` (addresses separated by commas) through
 * the server's SMTP configuration; all three take template.ts placeholders. TagoIO's
 * `email-smtp` (email through the user's own SMTP server) is accepted as an alias: here the
 * SMTP server is the operator's, so both mean the same.
 *
 * The mail is handed to the mailer and not awaited: an SMTP conversation takes seconds, and an
 * MQTT ack or `POST /data` must not wait for it. A failure shows in the device's inspector
 * (code EMAIL_BUSY, EMAIL_FAILED) and in the log; a mail that could never go (no SMTP
 * configured: EMAIL_NOT_CONFIGURED, a bad address after templating) fails the run itself.
 */
export function emailAction(
  mailer: Pick<Mailer, "send" | "configured">,
  inspector: InspectorSink,
  logger: Logger,
  /** The account's plan (`emailsPerMonth`): throws to refuse, counts when it admits. */
  admit: (accountId: string) => void = () => {},
): ActionHandler {
  return {
    type: "email",
    aliases: ["email-smtp"],
    stores: false,
    validate(params) {
      for (const field of ["to", "subject", "message"] as const) {
        if (typeof params[field] !== "string" || (params[field] as string).trim() === "") throw invalid(`action.${field} is required`);
      }
      return { type: "email", to: params.to, subject: params.subject, message: params.message };
    },
    async run(context) {
      const p = context.action.action;
      const mail = {
        to: fillTemplate(String(p.to), context),
        subject: fillTemplate(String(p.subject), context),
        message: fillTemplate(String(p.message), context),
      };
      // Refused at once (reported by the pipeline) when it could never be sent.
      if (!mailer.configured) throw new MailError("EMAIL_NOT_CONFIGURED", "email is not configured on this server (set smtp.host)");
      validateMail(mail);
      // Counted when handed to the mailer, like notifications: a mail the server then refuses
      // still used the quota, so a failing action cannot retry its way around it.
      admit(context.action.accountId);
      mailer.send(context.action.accountId, mail).catch((err: Error & { code?: string }) => {
        logger.warn({ action: context.action.id, code: err.code, err: err.message }, "email action failed");
        const deviceId = context.device?.id;
        if (deviceId && inspector.wants(deviceId)) inspector.record(deviceId, "error", `${context.action.name}: ${err.message}`, { code: err.code ?? "EMAIL_FAILED", action: context.action.id });
      });
      return { summary: `email "${mail.subject}" to ${mail.to} handed to the mailer` };
    },
  };
}
