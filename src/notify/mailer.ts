import nodemailer from "nodemailer";
import type { SmtpConfig } from "../config/schema.js";
import { invalid, SluiceError } from "../errors.js";

/** What `send` takes: the analysis email service's body and the `email` action's fields. */
export interface MailInput {
  /** One address, a comma- or semicolon-separated list, or a list. */
  to: unknown;
  subject: unknown;
  /** Plain text; with `html` too, it is the text alternative. */
  message?: unknown;
  html?: unknown;
}

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

export interface MailerOptions {
  /** SMTP conversations at once (default 2): a burst of action emails must not open a socket each. */
  concurrency?: number;
  /** Mails waiting for a conversation (default 100); past it `send` fails with EMAIL_BUSY. */
  maxWaiting?: number;
}

const MAX_RECIPIENTS = 20;
const MAX_SUBJECT = 500;
const MAX_BODY = 256 * 1024;
// Deliberately loose (the SMTP server has the last word); it only keeps out what cannot be an address.
const ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

/**
 * Sends mail through the SMTP server of the configuration (`smtp:`). Without a host every send
 * fails with EMAIL_NOT_CONFIGURED, so callers can say so instead of pretending.
 */
export class Mailer {
  private readonly transport: ReturnType<typeof nodemailer.createTransport> | undefined;
  private readonly from: string;
  private readonly concurrency: number;
  private readonly maxWaiting: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(config: SmtpConfig, options: MailerOptions = {}) {
    this.concurrency = options.concurrency ?? 2;
    this.maxWaiting = options.maxWaiting ?? 100;
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

  async send(input: MailInput): Promise<MailSent> {
    if (!this.transport) throw new MailError("EMAIL_NOT_CONFIGURED", "email is not configured on this server (set smtp.host, see docs/configuration.md)");
    const mail = validateMail(input);
    await this.slot();
    try {
      const info = await this.transport.sendMail({ from: this.from, ...mail });
      return { messageId: String(info.messageId), accepted: (info.accepted ?? []).map(String) };
    } catch (err) {
      throw new MailError("EMAIL_FAILED", `the SMTP server did not take the mail: ${(err as Error).message}`);
    } finally {
      this.release();
    }
  }

  close(): void {
    this.transport?.close();
  }

  private slot(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.reject(new MailError("EMAIL_BUSY", `${this.maxWaiting} emails are already waiting to be sent`));
    // The slot passes straight from the releasing send to this one (`active` stays counted).
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/** Checks and normalizes a mail's fields; errors name the field. */
export function validateMail(input: MailInput): { to: string[]; subject: string; text?: string; html?: string } {
  const to = recipients(input.to);
  if (typeof input.subject !== "string" || input.subject.trim() === "") throw invalid("subject is required");
  if (input.subject.length > MAX_SUBJECT) throw invalid(`subject is longer than ${MAX_SUBJECT} characters`);
  const text = body(input.message, "message");
  const html = body(input.html, "html");
  if (text === undefined && html === undefined) throw invalid("message (or html) is required");
  // A header cannot hold a line break; folding it to a space keeps the subject readable.
  return { to, subject: input.subject.replace(/[\r\n]+/g, " "), ...(text !== undefined ? { text } : {}), ...(html !== undefined ? { html } : {}) };
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
