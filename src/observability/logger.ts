import { pino, type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import type { LogFormat } from "../config/schema.js";
import { redactUrl } from "../http/redact.js";
import { colorWanted, printable } from "./terminal.js";

export type { Logger };

/**
 * Keys whose value is a credential, masked in both formats wherever a log call passes them
 * (tokens in URLs are masked before logging: http/redact.ts).
 */
const REDACT = ["token", "password", "authorization", "*.token", "*.password", "*.authorization", "*.headers.token", "*.headers.authorization"];

export interface LoggerOptions {
  /** `auto` (the default): pretty when `stdout` is a terminal, JSON lines otherwise. */
  format?: LogFormat;
  /** Where the lines go; process.stdout by default. */
  stdout?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

/** The format `auto` means for this output. */
export function resolveLogFormat(format: LogFormat, stdout: { isTTY?: boolean } = process.stdout): "json" | "pretty" {
  return format === "auto" ? (stdout.isTTY === true ? "pretty" : "json") : format;
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const stdout = options.stdout ?? process.stdout;
  // A field named `url` may be an account's webhook URL (`?token=...`, `user:password@`): masked
  // as request URLs are, whoever logs it.
  const serializers = { url: (url: unknown) => (typeof url === "string" ? redactUrl(url) : url) };
  const base = { level, base: undefined, redact: { paths: REDACT, censor: "***" }, serializers };
  if (resolveLogFormat(options.format ?? "auto", stdout) === "json") {
    return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, options.stdout);
  }
  return pino(base, prettyStream(colorWanted(false, options.env ?? process.env, stdout.isTTY === true), stdout));
}

/**
 * pino-pretty as a synchronous stream in this thread (a worker transport could lose the last
 * lines at exit), writing one line per event: {@link formatPrettyLine}.
 */
function prettyStream(colorize: boolean, stdout: NodeJS.WriteStream): DestinationStream {
  return pretty({
    sync: true,
    destination: stdout === process.stdout ? 1 : stdout,
    colorize,
    // The whole line is the message format's; pino-pretty's own time, level and object output are off.
    customPrettifiers: { time: () => "", level: () => "" },
    hideObject: true,
    // Otherwise the message format's output would be painted cyan over its own colours.
    customColors: "message:reset",
    useOnlyCustomProps: false,
    messageFormat: (log, _messageKey, _levelLabel, { colors }) => formatPrettyLine(log, colors),
  });
}

interface Paint {
  (text: string): string;
}
export interface Colors {
  gray: Paint;
  green: Paint;
  yellow: Paint;
  red: Paint;
  blue: Paint;
  cyan: Paint;
  bgRed: Paint;
}

const LEVELS: Record<number, [string, keyof Colors]> = {
  10: ["TRACE", "gray"],
  20: ["DEBUG", "blue"],
  30: ["INFO", "green"],
  40: ["WARN", "yellow"],
  50: ["ERROR", "red"],
  60: ["FATAL", "bgRed"],
};

/** Written elsewhere on the line, or noise to a person: `reqId` is Fastify's request counter. */
const NOT_FIELDS = new Set(["time", "level", "msg", "part", "pid", "hostname", "reqId"]);
const MAX_FIELDS = 8;
const MAX_VALUE = 160;
/** The widest part name most lines have (`analysis`, `pipeline`, `webhooks`), so messages line up. */
const PART_WIDTH = 8;

/**
 * `HH:MM:SS.mmm LEVEL part     message key=value ...`: local time, the logger's part (the root
 * logger's lines are `sluice`'s), the message, and the event's own fields, short. Every text is
 * made printable: client ids, topics and error messages come from outside. A field whose value
 * the message already shows is not repeated.
 */
export function formatPrettyLine(log: Record<string, unknown>, colors: Colors): string {
  const [label, color] = LEVELS[log.level as number] ?? [String(log.level), "gray"];
  const msg = typeof log.msg === "string" ? log.msg : "";
  const part = typeof log.part === "string" ? log.part : "sluice";
  const fields: string[] = [];
  let more = 0;
  for (const [key, value] of Object.entries(log)) {
    if (NOT_FIELDS.has(key) || value === undefined || shownIn(msg, value)) continue;
    if (fields.length === MAX_FIELDS) {
      more++;
      continue;
    }
    fields.push(`${colors.gray(`${printable(key)}=`)}${fieldValue(value)}`);
  }
  if (more > 0) fields.push(colors.gray(`(+${more})`));
  const head = `${colors.gray(clock(log.time))} ${colors[color](label.padEnd(5))} ${colors.cyan(printable(part).padEnd(PART_WIDTH))} ${printable(msg)}`;
  return fields.length === 0 ? head : `${head}  ${fields.join(" ")}`;
}

function clock(time: unknown): string {
  const date = new Date(typeof time === "string" || typeof time === "number" ? time : Date.now());
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

function shownIn(msg: string, value: unknown): boolean {
  if (typeof value === "string") return value.length > 0 && msg.includes(value);
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string" && v.length > 0 && msg.includes(v));
}

/** A bare word when it is one, else quoted; errors as their message; long values cut. */
function fieldValue(value: unknown): string {
  let text: string;
  if (isErrorLike(value)) {
    text = quoteIfNeeded(value.type && value.type !== "Error" ? `${value.type}: ${value.message}` : value.message);
  } else if (typeof value === "string") {
    text = quoteIfNeeded(value);
  } else if (typeof value === "number" || typeof value === "boolean" || value === null) {
    text = String(value);
  } else {
    text = safeJson(value);
  }
  if (text.length > MAX_VALUE) text = `${text.slice(0, MAX_VALUE - 1)}…`;
  return printable(text);
}

function isErrorLike(value: unknown): value is { type?: string; message: string } {
  return typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string" && "stack" in value;
}

function quoteIfNeeded(text: string): string {
  return text !== "" && !/[\s"'=\\]/.test(text) ? text : JSON.stringify(text);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
