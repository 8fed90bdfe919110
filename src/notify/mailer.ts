import nodemailer from "nodemailer";
import type { SmtpConfig } from "../config/schema.js";
import { invalid, SluiceError } from "../errors.js";
import { FairQueue, QueueFull } from "../limits/fair_queue.js";

/** What `send` takes: the analysis email service's body and the `email` action's fields. */
export interface MailInput {
  /** One address, a comma- or semicolon-separated list, or a list. */
  to: unknown;
  subject: unknown;
  /** Plain text; with `html` too, it is the text alternative. */
  message?: unknown;
  html?: unknown;
  /**
   * The SDK's attachment (`Services.email.send({ ..., attachment })`): `{ archive, filename,
   * type? }`, `archive` being base64 when `type` is "base64" and text otherwise. A list of them
   * is taken too, here or as `attachments`.
   */
  attachment?: unknown;
  attachments?: unknown;
}

/** A file attached to a mail, decoded. */
export interface MailAttachment {
  filename: string;
  content: Buffer;
  contentType?: string;
}

/** How many attachments one mail may carry, and their bytes together (config `smtp`). */
export interface AttachmentLimits {
  maxAttachments: number;
  maxAttachmentBytes: number;
}

const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = { maxAttachments: 10, maxAttachmentBytes: 10 * 1024 * 1024 };

export interface MailSent {
  messageId: string;
  accepted: string[];
}

/** Why an email was not sent: EMAIL_NOT_CONFIGURED (no SMTP host), EMAIL_BUSY, EMAIL_FAILED. */
export class MailError extends SluiceError {
  constructor(code: "EMAIL_NOT_CONFIGURED" | "EMAIL_BUSY" | "EMAIL_FAILED", message: string) {
    super(code, message, code === "EMAIL_FAILED" ? 502 : 503);
    this.name = "MailError";
  }
}

const MAX_RECIPIENTS = 20;
const MAX_SUBJECT = 500;
const MAX_BODY = 256 * 1024;
// Deliberately loose (the SMTP server has the last word); it only keeps out what cannot be an address.
const ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

/**
 * Sends mail through the SMTP server of the configuration (`smtp:`). Without a host every send
 * fails with EMAIL_NOT_CONFIGURED, so callers can say so instead of pretending.
 *
 * Conversations are a pool shared fairly by accounts (limits/fair_queue.ts): `concurrency` at
 * once, `concurrencyPerAccount` of one account, accounts taking turns; mails waiting are
 * bounded per account (`maxWaitingPerAccount`) and in all (`maxWaiting`), past which `send`
 * fails with EMAIL_BUSY. One account mailing in bulk waits behind its own mails only.
 */
export class Mailer {
  private readonly transport: ReturnType<typeof nodemailer.createTransport> | undefined;
  private readonly from: string;
  /** Sends waiting for a conversation: each resolves when `take` hands it a slot. */
  private readonly queue: FairQueue<() => void>;
  readonly attachmentLimits: AttachmentLimits;

  constructor(config: SmtpConfig) {
    this.attachmentLimits = { maxAttachments: config.maxAttachments, maxAttachmentBytes: config.maxAttachmentBytes };
    this.queue = new FairQueue({
      concurrency: config.concurrency, concurrencyPerAccount: config.concurrencyPerAccount,
      maxWaiting: config.maxWaiting, maxWaitingPerAccount: config.maxWaitingPerAccount,
    });
    this.from = config.from || (ADDRESS.test(config.user) ? config.user : "sluice@localhost");
    if (config.host === "") return;
    this.transport = nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure,
      // Without it nodemailer goes on in clear when STARTTLS is not offered: a stripping
      // attacker would read the AUTH credentials and every mail.
      requireTLS: config.requireTLS,
      ...(config.user !== "" ? { auth: { user: config.user, pass: config.password } } : {}),
      connectionTimeout: config.connectionTimeoutMs,
      greetingTimeout: config.greetingTimeoutMs,
      socketTimeout: config.socketTimeoutMs,
    });
  }

  get configured(): boolean {
    return this.transport !== undefined;
  }

  /**
   * Sends a mail for the account (its share of the SMTP conversations). `files` are attached as
   * they are (Sluice's own, e.g. a report's PDF), within the same attachment bounds as the input's.
   */
  async send(accountId: string, input: MailInput, files: MailAttachment[] = []): Promise<MailSent> {
    if (!this.transport) throw new MailError("EMAIL_NOT_CONFIGURED", "email is not configured on this server (set smtp.host, see docs/configuration.md)");
    const mail = validateMail(input, this.attachmentLimits);
    const attachments = [...(mail.attachments ?? []), ...files];
    checkAttachmentBounds(attachments, this.attachmentLimits);
    await this.slot(accountId);
    try {
      const info = await this.transport.sendMail({ from: this.from, ...mail, attachments });
      return { messageId: String(info.messageId), accepted: (info.accepted ?? []).map(String) };
    } catch (err) {
      throw new MailError("EMAIL_FAILED", `the SMTP server did not take the mail: ${(err as Error).message}`);
    } finally {
      this.queue.finish(accountId);
      this.pump();
    }
  }

  close(): void {
    this.transport?.close();
  }

  /** Resolves once the account holds a conversation slot (counted by the queue until `finish`). */
  private slot(accountId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.queue.push(accountId, resolve);
      } catch (err) {
        if (!(err instanceof QueueFull)) throw err;
        reject(new MailError("EMAIL_BUSY", err.scope === "account" ? `${err.bound} emails of the account are already waiting to be sent` : `${err.bound} emails are already waiting to be sent`));
        return;
      }
      this.pump();
    });
  }

  private pump(): void {
    for (let next = this.queue.take(); next; next = this.queue.take()) next.item();
  }
}

/** Checks and normalizes a mail's fields; errors name the field. */
export function validateMail(input: MailInput, limits: AttachmentLimits = DEFAULT_ATTACHMENT_LIMITS): { to: string[]; subject: string; text?: string; html?: string; attachments?: MailAttachment[] } {
  const to = recipients(input.to);
  if (typeof input.subject !== "string" || input.subject.trim() === "") throw invalid("subject is required");
  if (input.subject.length > MAX_SUBJECT) throw invalid(`subject is longer than ${MAX_SUBJECT} characters`);
  const text = body(input.message, "message");
  const html = body(input.html, "html");
  if (text === undefined && html === undefined) throw invalid("message (or html) is required");
  const attachments = parseAttachments(input, limits);
  // A header cannot hold a line break; folding it to a space keeps the subject readable.
  return {
    to, subject: input.subject.replace(/[\r\n]+/g, " "), ...(text !== undefined ? { text } : {}), ...(html !== undefined ? { html } : {}),
    ...(attachments.length > 0 ? { attachments } : {}),
  };
}

const MAX_FILENAME = 255;

/** `attachment` and `attachments` of the SDK's shape, decoded; the bounds checked from the sizes before anything is decoded. */
function parseAttachments(input: MailInput, limits: AttachmentLimits): MailAttachment[] {
  const given = [input.attachment, input.attachments].flatMap((value) => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]));
  if (given.length === 0) return [];
  if (given.length > limits.maxAttachments) {
    throw invalid(limits.maxAttachments === 0 ? "attachments are not accepted on this server (smtp.maxAttachments is 0)" : `more than ${limits.maxAttachments} attachments (smtp.maxAttachments)`);
  }
  let bytes = 0;
  return given.map((raw, i) => {
    const where = given.length === 1 ? "attachment" : `attachment ${i + 1}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalid(`${where} must be an object: { archive, filename, type? }`);
    const a = raw as Record<string, unknown>;
    const filename = a.filename ?? a.name;
    if (typeof filename !== "string" || filename.trim() === "") throw invalid(`${where}.filename is required`);
    // A name, not a path; control characters would end up in MIME headers.
    if (filename.length > MAX_FILENAME || /[\u0000-\u001f\u007f/\\]/.test(filename)) throw invalid(`${where}.filename must be a file name of at most ${MAX_FILENAME} characters, without / or \\`);
    const archive = a.archive ?? a.content;
    if (typeof archive !== "string") throw invalid(`${where}.archive must be a string (base64 when type is "base64")`);
    const base64 = a.type === "base64";
    if (base64 && !/^[A-Za-z0-9+/=\s_-]*$/.test(archive)) throw invalid(`${where}.archive is not base64`);
    bytes += base64 ? Math.floor((archive.replace(/\s/g, "").length * 3) / 4) : Buffer.byteLength(archive);
    if (bytes > limits.maxAttachmentBytes + 2) throw invalid(`the attachments hold more than ${limits.maxAttachmentBytes} bytes (smtp.maxAttachmentBytes)`);
    const content = Buffer.from(archive, base64 ? "base64" : "utf8");
    const contentType = typeof a.type === "string" && a.type.includes("/") && a.type.length <= 100 ? a.type : undefined;
    return { filename, content, ...(contentType !== undefined && { contentType }) };
  });
}

function checkAttachmentBounds(attachments: MailAttachment[], limits: AttachmentLimits): void {
  if (attachments.length > limits.maxAttachments) throw invalid(`more than ${limits.maxAttachments} attachments (smtp.maxAttachments)`);
  const bytes = attachments.reduce((sum, a) => sum + a.content.length, 0);
  if (bytes > limits.maxAttachmentBytes) throw invalid(`the attachments hold ${bytes} bytes, more than ${limits.maxAttachmentBytes} (smtp.maxAttachmentBytes)`);
}

export function recipients(value: unknown): string[] {
  const given = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  const items = given.flatMap((v) => (typeof v === "string" ? v.split(/[,;]/) : [v]));
  const list = items.map((v) => (typeof v === "string" ? v.trim() : v)).filter((v) => v !== "");
  if (list.length === 0) throw invalid("to is required: one or more email addresses");
  if (list.length > MAX_RECIPIENTS) throw invalid(`to has more than ${MAX_RECIPIENTS} addresses`);
  for (const address of list) {
    if (typeof address !== "string" || !ADDRESS.test(address)) throw invalid(`to: "${String(address)}" is not an email address`);
  }
  return list as string[];
}

function body(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw invalid(`${field} must be a string`);
  if (value.length > MAX_BODY) throw invalid(`${field} is longer than ${MAX_BODY} characters`);
  return value;
}
