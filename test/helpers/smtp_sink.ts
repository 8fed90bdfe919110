import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { SMTPServer } from "smtp-server";

/** One mail as the SMTP server received it. */
export interface ReceivedMail {
  /** MAIL FROM / RCPT TO of the SMTP conversation. */
  from: string;
  to: string[];
  /** The AUTH user, when the client authenticated. */
  user: string | undefined;
  /** Header names in lower case, folded lines joined. */
  headers: Record<string, string>;
  /** The body as sent (decoded when quoted-printable). */
  text: string;
  raw: string;
}

export interface SmtpSink {
  port: number;
  mails: ReceivedMail[];
  /**
   * Mails to hold: their DATA is read but never answered (the sender waits until its socket
   * timeout), as a stalled mail server does. They go to `held`, not `mails`. None by default.
   */
  hold: (to: string[]) => boolean;
  held: ReceivedMail[];
  /** Accepts the held mails (they stay in `held`) and holds no more. */
  release(): void;
  /** Waits for `count` mails in all; throws after the timeout. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

/**
 * A real SMTP server on loopback (the `smtp-server` package), without STARTTLS so plain AUTH
 * works, accepting `user`/`password` when given (or any mail when not).
 */
export async function startSmtpSink(credentials?: { user: string; password: string }): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  const held: ReceivedMail[] = [];
  const unanswered = new Set<(err?: Error) => void>();
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authOptional: credentials === undefined,
    logger: false,
    onAuth(auth, _session, callback) {
      if (credentials && auth.username === credentials.user && auth.password === credentials.password) callback(null, { user: auth.username });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const split = raw.indexOf("\r\n\r\n");
        const headers: Record<string, string> = {};
        for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        let text = raw.slice(split + 4);
        if (/quoted-printable/i.test(headers["content-transfer-encoding"] ?? "")) {
          text = text.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
        }
        const mail: ReceivedMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          headers, text, raw,
        };
        if (sink.hold(mail.to)) {
          held.push(mail);
          unanswered.add(callback);
          return;
        }
        mails.push(mail);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const sink: SmtpSink = {
    port: (server.server.address() as AddressInfo).port,
    mails,
    hold: () => false,
    held,
    release() {
      sink.hold = () => false;
      for (const answer of unanswered) answer();
      unanswered.clear();
    },
    async waitFor(count, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (mails.length < count) {
        if (Date.now() > end) throw new Error(`expected ${count} mail(s), got ${mails.length}`);
        await delay(20);
      }
      return mails;
    },
    close: () => {
      for (const answer of unanswered) answer(new Error("the sink is closing"));
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return sink;
}
