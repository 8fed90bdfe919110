/**
 * A report without code: what it shows (a data query, or a dashboard), in which formats, when
 * (on demand, or on a cron schedule in a timezone), to whom it is mailed. The API's JSON shape
 * and its checks; errors name the field (400). See docs/reports.md.
 */
import { CronExpressionParser } from "cron-parser";
import { invalid } from "../errors.js";
import { parseDate, parseDuration } from "../data/dates.js";
import { recipients as parseRecipients } from "../notify/mailer.js";
import { parsePrintOptions, type PrintOptions } from "../pdf/pdf_request.js";

export type ReportType = "data" | "dashboard";
export type ReportFormat = "pdf" | "csv";

export interface DataSelection {
  /** Device ids of the account (1 to MAX_DEVICES). */
  devices: string[];
  /** Variables (1 to MAX_VARIABLES), lower-cased as records store them. */
  variables: string[];
  /** How far back from the run: "1 day", "7 days". Ignored when `start` is set. */
  range: string;
  /** A fixed period instead of `range` (ISO dates); `end` defaults to the run's time. */
  start: Date | null;
  end: Date | null;
  /** Newest records per device and variable. */
  qty: number;
}

export interface ReportDefinition {
  name: string;
  active: boolean;
  type: ReportType;
  formats: ReportFormat[];
  /** The heading of the PDF and the subject of the mail; the name when not given. */
  title: string | null;
  data: DataSelection | null;
  /** The dashboard's id (type "dashboard"). */
  dashboard: string | null;
  schedule: { cron: string; timezone: string } | null;
  /** Times in the report are written in this zone (the schedule's unless given). */
  timezone: string;
  recipients: string[];
  /** The mail's text; a default naming the report and its period when not given. */
  message: string | null;
  pdfOptions: PrintOptions;
}

export interface ReportRow {
  id: string;
  accountId: string;
  definition: ReportDefinition;
  createdAt: Date;
  updatedAt: Date;
  lastRun: LastRun | null;
}

export interface LastRun {
  at: Date;
  status: "ok" | "failed";
  message: string;
  files: string[];
}

export const MAX_DEVICES = 20;
export const MAX_VARIABLES = 20;
const MAX_NAME = 200;
const MAX_MESSAGE = 10_000;
const DEFAULT_QTY = 1000;
const MAX_QTY = 10_000;
const DEFAULT_RANGE = "1 day";
/** Schedules checked over this many next runs for their shortest gap. */
const GAP_SAMPLES = 20;

/** The body of `POST /report` (every field) or `PUT /report/:id` (the fields to change, over `current`). */
export function parseReport(body: unknown, options: { current?: ReportDefinition; minIntervalSeconds: number }): ReportDefinition {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("the body must be an object");
  const b = body as Record<string, unknown>;
  const current = options.current;
  const has = (key: string) => b[key] !== undefined;

  const name = has("name") ? text(b.name, "name", MAX_NAME, true)! : current?.name;
  if (name === undefined) throw invalid("name is required");
  const type = has("type") ? b.type : current?.type ?? "data";
  if (type !== "data" && type !== "dashboard") throw invalid('type must be "data" or "dashboard"');
  const active = has("active") ? bool(b.active, "active") : current?.active ?? true;
  const formats = has("format") ? parseFormats(b.format) : current?.formats ?? (["pdf"] as ReportFormat[]);
  if (type === "dashboard" && formats.includes("csv")) throw invalid('a dashboard report is a PDF only: format must be "pdf"');
  const title = has("title") ? text(b.title, "title", MAX_NAME, false) : current?.title ?? null;
  const schedule = has("schedule") ? parseSchedule(b.schedule, options.minIntervalSeconds) : current?.schedule ?? null;
  const timezone = has("timezone") ? zone(b.timezone, "timezone") : current?.timezone ?? schedule?.timezone ?? "UTC";
  const recipients = has("recipients") ? parseRecipientList(b.recipients) : current?.recipients ?? [];
  const message = has("message") ? text(b.message, "message", MAX_MESSAGE, false) : current?.message ?? null;
  const pdfOptions = has("pdf_options") ? parsePrintOptions(b.pdf_options, "pdf_options") : current?.pdfOptions ?? {};

  let data: DataSelection | null = null;
  let dashboard: string | null = null;
  if (type === "data") {
    const given = has("query") ? b.query : current?.data ? undefined : null;
    if (given === null) throw invalid("query is required for a data report: { devices, variables, range | start_date, end_date?, qty? }");
    data = given === undefined ? current!.data : parseSelection(given, current?.data ?? undefined);
  } else {
    const id = has("dashboard") ? b.dashboard : current?.dashboard;
    if (typeof id !== "string" || id === "" || id.length > 100) throw invalid("dashboard is required for a dashboard report: the dashboard's id");
    dashboard = id;
  }
  return { name, active, type, formats, title, data, dashboard, schedule, timezone, recipients, message, pdfOptions };
}

function parseSelection(value: unknown, current: DataSelection | undefined): DataSelection {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("query must be an object: { devices, variables, range | start_date, end_date?, qty? }");
  const q = value as Record<string, unknown>;
  const devices = q.devices !== undefined ? idList(q.devices, "query.devices", MAX_DEVICES) : current?.devices;
  if (devices === undefined) throw invalid("query.devices is required: a list of device ids");
  const variables = q.variables !== undefined ? idList(q.variables, "query.variables", MAX_VARIABLES).map((v) => v.toLowerCase()) : current?.variables;
  if (variables === undefined) throw invalid("query.variables is required: a list of variable names");
  let range = current?.range ?? DEFAULT_RANGE;
  let start = current?.start ?? null;
  let end = current?.end ?? null;
  if (q.range !== undefined) {
    if (typeof q.range !== "string" || parseDuration(q.range) === undefined) throw invalid('query.range must be a duration such as "1 day" or "4 weeks"');
    range = q.range.trim();
    start = null;
    end = null;
  }
  if (q.start_date !== undefined || q.end_date !== undefined) {
    start = q.start_date === undefined || q.start_date === null ? null : date(q.start_date, "query.start_date");
    end = q.end_date === undefined || q.end_date === null ? null : date(q.end_date, "query.end_date");
    if (start === null) throw invalid("query.start_date is required with query.end_date");
    if (end !== null && end.getTime() <= start.getTime()) throw invalid("query.end_date must be after query.start_date");
  }
  const qty = q.qty !== undefined ? Number(q.qty) : current?.qty ?? DEFAULT_QTY;
  if (!Number.isInteger(qty) || qty < 1 || qty > MAX_QTY) throw invalid(`query.qty must be a whole number from 1 to ${MAX_QTY}`);
  return { devices, variables, range, start, end, qty };
}

function parseFormats(value: unknown): ReportFormat[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw invalid('format must be "pdf", "csv" or both: ["pdf", "csv"]');
  const out = new Set<ReportFormat>();
  for (const item of list) {
    if (item !== "pdf" && item !== "csv") throw invalid('format must be "pdf", "csv" or both: ["pdf", "csv"]');
    out.add(item);
  }
  return [...out];
}

function parseSchedule(value: unknown, minIntervalSeconds: number): ReportDefinition["schedule"] {
  if (value === null || value === "") return null;
  const s = typeof value === "string" ? { cron: value } : value;
  if (typeof s !== "object" || s === null || Array.isArray(s)) throw invalid('schedule must be { cron, timezone? } or null');
  const { cron, timezone: tz } = s as Record<string, unknown>;
  if (typeof cron !== "string" || cron.trim() === "" || cron.length > 200) throw invalid('schedule.cron is required: a cron expression such as "0 8 * * 1"');
  const timezone = tz === undefined || tz === null || tz === "" ? "UTC" : zone(tz, "schedule.timezone");
  let gap = Infinity;
  try {
    const times = CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date() });
    let previous = times.next().getTime();
    for (let i = 0; i < GAP_SAMPLES && times.hasNext(); i++) {
      const next = times.next().getTime();
      gap = Math.min(gap, next - previous);
      previous = next;
    }
  } catch (err) {
    throw invalid(`schedule.cron: ${(err as Error).message}`);
  }
  if (gap < minIntervalSeconds * 1000) throw invalid(`schedule.cron runs more often than every ${minIntervalSeconds} s (reports.minIntervalSeconds)`);
  return { cron: cron.trim(), timezone };
}

function parseRecipientList(value: unknown): string[] {
  if (value === null || (Array.isArray(value) && value.length === 0) || value === "") return [];
  try {
    return parseRecipients(value);
  } catch (err) {
    throw invalid(`recipients: ${(err as Error).message.replace(/^to:? ?/, "")}`);
  }
}

function zone(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length > 64) throw invalid(`${field} must be an IANA timezone such as "Europe/Lisbon"`);
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
  } catch {
    throw invalid(`${field}: "${value}" is not a timezone (an IANA name such as "Europe/Lisbon")`);
  }
  return value;
}

function text(value: unknown, field: string, max: number, required: boolean): string | null {
  if (value === null && !required) return null;
  if (typeof value !== "string" || (required && value.trim() === "")) throw invalid(`${field} must be ${required ? "a non-empty string" : "a string"}`);
  if (value.length > max) throw invalid(`${field} is longer than ${max} characters`);
  return value;
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") throw invalid(`${field} must be true or false`);
  return value;
}

function idList(value: unknown, field: string, max: number): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.length > max) throw invalid(`${field} must list 1 to ${max} names`);
  for (const item of list) if (typeof item !== "string" || item === "" || item.length > 100) throw invalid(`${field} must list names of at most 100 characters`);
  return [...new Set(list as string[])];
}

function date(value: unknown, field: string): Date {
  const parsed = parseDate(value);
  if (parsed === undefined) throw invalid(`${field} is not a date`);
  return parsed;
}

/** The period a data report covers when run at `now`. */
export function periodOf(selection: DataSelection, now: Date): { start: Date; end: Date } {
  if (selection.start) return { start: selection.start, end: selection.end ?? now };
  return { start: new Date(now.getTime() - parseDuration(selection.range)!), end: now };
}

/** The report as the API shows it. */
export function reportInfo(row: ReportRow, nextRun: Date | null) {
  const d = row.definition;
  return {
    id: row.id,
    name: d.name,
    active: d.active,
    type: d.type,
    format: d.formats,
    title: d.title,
    query: d.data && {
      devices: d.data.devices, variables: d.data.variables, qty: d.data.qty,
      range: d.data.start ? null : d.data.range,
      start_date: d.data.start?.toISOString() ?? null,
      end_date: d.data.end?.toISOString() ?? null,
    },
    dashboard: d.dashboard,
    schedule: d.schedule,
    timezone: d.timezone,
    recipients: d.recipients,
    message: d.message,
    pdf_options: d.pdfOptions,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    last_run: row.lastRun && { at: row.lastRun.at.toISOString(), status: row.lastRun.status, message: row.lastRun.message, files: row.lastRun.files },
    next_run: nextRun?.toISOString() ?? null,
  };
}

/** The definition as stored (JSON). */
export function serializeDefinition(d: ReportDefinition): string {
  return JSON.stringify(d);
}

export function deserializeDefinition(text: string): ReportDefinition {
  const d = JSON.parse(text) as ReportDefinition & { data: (Omit<DataSelection, "start" | "end"> & { start: string | null; end: string | null }) | null };
  return {
    ...d,
    data: d.data && { ...d.data, start: d.data.start === null ? null : new Date(d.data.start), end: d.data.end === null ? null : new Date(d.data.end) },
  };
}
