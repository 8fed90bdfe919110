import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { AnalysisConsole } from "../../analysis/console.js";
import type { AnalysisRow } from "../../analysis/model.js";
import type { AnalysisService } from "../../analysis/service.js";
import { MAX_MQTT_MESSAGE_BYTES } from "../../dashboards/downlink.js";
import { invalid } from "../../errors.js";
import type { IdentityService } from "../../identity/service.js";
import { isValidTopicName } from "../../mqtt/topics.js";
import { validateMail, type AttachmentLimits, type MailInput } from "../../notify/mailer.js";
import type { FileInfo } from "../../reports/report_service.js";
import type { StoredFileInfo } from "../../reports/report_store.js";
import type { ActionServices } from "../../pipeline/actions/registry.js";
import { accountOf, requestToken } from "../auth.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";
import { sendFile } from "./report.js";

export interface NotificationRequest {
  title: string;
  message: string;
  [other: string]: unknown;
}

export interface AnalysisServiceRouteDeps {
  analyses: AnalysisService;
  console: AnalysisConsole;
  identity: IdentityService;
  publish: ActionServices["publish"];
  /** Sends a notification to the account (its store and SSE channel live elsewhere). */
  notify(accountId: string, notification: NotificationRequest): Promise<unknown>;
  /** Sends an email on behalf of the account. */
  email(accountId: string, email: MailInput): Promise<unknown>;
  /** The mailer's attachment bounds (`smtp.maxAttachments`, `smtp.maxAttachmentBytes`). */
  attachmentLimits: AttachmentLimits;
  /** `Services.PDF.generate`: the body as the SDK sends it; answers the PDF in base64. */
  pdf(accountId: string, body: unknown): Promise<string>;
  /** `pdf.maxInputBytes`: the PDF route's body may hold that much HTML in base64. */
  pdfMaxInputBytes: number;
  /** `Services.attachment.upload`, and the download of what it kept. */
  attachments: {
    upload(accountId: string, body: unknown): Promise<FileInfo>;
    get(accountId: string, id: string): Promise<{ info: StoredFileInfo; data: Buffer }>;
  };
}

/** What a JSON body holds besides the base64 of its files: addresses, subject, text and HTML, options. */
const BODY_OVERHEAD = 1024 * 1024;

/** A JSON body carrying `bytes` of files in base64, with room for the rest. */
export function base64BodyLimit(bytes: number): number {
  return Math.ceil((bytes * 4) / 3) + BODY_OVERHEAD;
}

/**
 * `/analysis/services/*`, what the SDK's `Services` call from an analysis (ACCOUNT slot). Any
 * account token of the account is accepted, as the analysis token is one; the console alone
 * needs the analysis token, since it says which analysis's console the line belongs to.
 */
export function analysisServiceRoutes(deps: AnalysisServiceRouteDeps): FastifyPluginAsync {
  return async (app) => {
    documentRoutes(app, { tag: TAGS.analysisServices.name });
    app.post<{ Body: { message?: unknown; timestamp?: unknown } | undefined }>("/analysis/services/console/send", async (request) => {
      const analysis = await analysisOf(request, deps.analyses);
      const { message, timestamp } = request.body ?? {};
      if (message === undefined) throw invalid("message is required");
      const text = typeof message === "string" ? message : JSON.stringify(message);
      // The SDK sends `new Date(undefined).getTime()` (null once in JSON) when no time is given.
      const time = typeof timestamp === "number" || typeof timestamp === "string" ? new Date(timestamp) : new Date();
      deps.console.append(analysis.accountId, analysis.id, text, time);
      return ok("Console sent");
    });

    app.post<{ Body: Record<string, unknown> | undefined }>("/analysis/services/mqtt/publish", async (request) => {
      const accountId = accountOf(request);
      const body = request.body ?? {};
      const { topic, message } = body;
      // The SDK spreads `options` into the body; a raw client may send them nested.
      const options = { ...(isObject(body.options) ? body.options : {}), ...pick(body, ["qos", "retain"]) };
      const device = body.device ?? body.bucket;
      if (typeof topic !== "string" || !isValidTopicName(topic)) throw invalid("topic must be a valid MQTT topic name (no wildcards)");
      if (message === undefined || message === null) throw invalid("message is required");
      if (typeof device !== "string" || device === "") throw invalid("device is required: the id of the device to publish to");
      const qos = options.qos === undefined ? 0 : Number(options.qos);
      if (qos !== 0 && qos !== 1 && qos !== 2) throw invalid("qos must be 0, 1 or 2");
      if (options.retain !== undefined && typeof options.retain !== "boolean") throw invalid("retain must be true or false");
      const payload = Buffer.from(typeof message === "string" ? message : JSON.stringify(message));
      if (payload.length > MAX_MQTT_MESSAGE_BYTES) throw invalid(`message is larger than ${MAX_MQTT_MESSAGE_BYTES} bytes`);
      await deps.identity.getDevice(accountId, device); // 404 for a device of another account
      deps.publish(accountId, { topic, payload, qos, retain: options.retain === true }, device);
      return ok("MQTT Published");
    });

    app.post<{ Body: Record<string, unknown> | undefined }>("/analysis/services/notification/send", async (request) => {
      const body = request.body ?? {};
      if (typeof body.title !== "string" || body.title === "") throw invalid("title is required");
      if (typeof body.message !== "string" || body.message === "") throw invalid("message is required");
      const result = await deps.notify(accountOf(request), { ...body, title: body.title, message: body.message });
      return ok(typeof result === "string" ? result : "Notification sent");
    });

    // The body is checked by validateMail before it is used as a mail. Its attachments travel in
    // base64: the body may be that much larger than the server's default.
    app.post<{ Body: MailInput | undefined }>("/analysis/services/email/send", { bodyLimit: base64BodyLimit(deps.attachmentLimits.maxAttachmentBytes) }, async (request) => {
      const body = request.body ?? ({} as MailInput);
      // The mailer's own rules, checked before anything is sent (or found not configured).
      validateMail(body, deps.attachmentLimits);
      const result = await deps.email(accountOf(request), body);
      return ok(typeof result === "string" ? result : "Email sent");
    });

    // Where the SDK's `Services.PDF.generate` lands: it posts to TagoIO's fixed PDF host, which
    // the analysis preload routes here (analysis/sdk_routes.ts). TagoIO's answer: { status, result: base64 }.
    app.post<{ Body: unknown }>("/analysis/services/pdf/generate", { bodyLimit: base64BodyLimit(deps.pdfMaxInputBytes) }, async (request) => {
      return ok(await deps.pdf(accountOf(request), request.body));
    });

    app.post<{ Body: unknown }>("/analysis/services/attachment/upload", { bodyLimit: base64BodyLimit(deps.attachmentLimits.maxAttachmentBytes) }, async (request) => {
      return ok((await deps.attachments.upload(accountOf(request), request.body ?? {})).url);
    });
    app.get<{ Params: { id: string } }>("/analysis/services/attachment/:id", async (request, reply) => {
      const { info, data } = await deps.attachments.get(accountOf(request), request.params.id);
      return sendFile(reply, info, data);
    });
  };
}

async function analysisOf(request: FastifyRequest, analyses: AnalysisService): Promise<AnalysisRow> {
  const token = requestToken(request.headers);
  const analysis = token === undefined ? undefined : await analyses.byToken(token);
  if (!analysis) throw invalid("this service needs an analysis token (the `token` of an analysis)");
  return analysis;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pick(body: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
}
