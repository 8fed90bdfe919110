/**
 * Reports without code (docs/reports.md): definitions per account, runs on demand or on a cron
 * schedule, their files kept (bounded per account, the oldest dropped) and mailed.
 *
 * A run of a data report reads the selected devices' records (bounded by `reports.maxRecords`
 * in all), renders them to HTML (report_render.ts) printed by the PDF service, and/or to CSV. A
 * dashboard report prints the public share view of the dashboard (`/view#<key>`), through a share
 * key the report made when it was created. Runs share `reports.concurrency` slots fairly by
 * account; a report is never queued twice (a manual run joins the one in progress, a schedule
 * firing meanwhile is skipped). The PDF itself waits its turn in the PDF service's own queue.
 */
import { shareViewUrl } from "../dashboards/share_view.js";
import { CronExpressionParser } from "cron-parser";
import type { ReportLimits } from "../config/schema.js";
import type { BucketStore } from "../data/types.js";
import { invalid, notFound, SluiceError } from "../errors.js";
import { generateId } from "../identity/tokens.js";
import { FairQueue } from "../limits/fair_queue.js";
import type { AttachmentLimits, MailAttachment, MailInput, MailSent } from "../notify/mailer.js";
import type { Logger } from "../observability/logger.js";
import type { PdfService } from "../pdf/pdf_service.js";
import type { PrintOptions } from "../pdf/pdf_request.js";
import type { DeviceRow } from "../store/types.js";
import { parseReport, periodOf, reportInfo, type DataSelection, type LastRun, type ReportDefinition, type ReportRow } from "./report_model.js";
import { renderCsv, renderReportHtml, timeFormatter, type Series } from "./report_render.js";
import type { FileStore, ReportStore, StoredFileInfo } from "./report_store.js";

/** What the dashboards part offers reports: the share view of a dashboard, opened for one print. */
export interface DashboardPrints {
  /** Throws NOT_FOUND for a dashboard that is not the account's. */
  get(accountId: string, dashboardId: string): Promise<unknown>;
  /** A key that opens the share view for `ttlMs` at most; `release` ends it sooner. */
  printKey(accountId: string, dashboardId: string, ttlMs: number): Promise<{ key: string; release(): void }>;
}

const PRINT_KEY_TTL_MS = 10 * 60_000;

export interface ReportServiceDeps {
  store: ReportStore;
  files: FileStore;
  pdf: PdfService;
  mailer: { readonly configured: boolean; readonly attachmentLimits: AttachmentLimits; send(accountId: string, input: MailInput, files?: MailAttachment[]): Promise<MailSent> };
  /** The plan's emails per month; throws to refuse. */
  admitEmail(accountId: string): void;
  buckets: BucketStore;
  devices: { getDevice(accountId: string, id: string): Promise<DeviceRow> };
  limits: ReportLimits;
  /** `data.maxPageBytes`: one read of a device's records stops there. */
  maxPageBytes: number;
  /** Sluice's own HTTP API, where the console's share page is (dashboard reports). */
  apiUrl(): string;
  logger: Logger;
  dashboards: DashboardPrints;
}

export interface FileInfo {
  id: string;
  name: string;
  content_type: string;
  size: number;
  created_at: string;
  report: string | null;
  /** Where to download it (with an account token). */
  url: string;
}

export interface RunOutcome {
  status: "ok" | "failed";
  message: string;
  files: FileInfo[];
  mailed_to: string[];
}

/** The PDF of a data report unless the definition says otherwise: A4, margins, page numbers in the footer. */
const DATA_PDF_DEFAULTS: PrintOptions = {
  format: "A4",
  printBackground: true,
  displayHeaderFooter: true,
  headerTemplate: "<span></span>",
  footerTemplate:
    '<div style="font-size:8px;color:#6b7280;width:100%;padding:0 12mm;display:flex;justify-content:space-between;font-family:sans-serif">' +
    '<span class="title"></span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>',
  margin: { top: "14mm", right: "12mm", bottom: "16mm", left: "12mm" },
};
const DASHBOARD_PDF_DEFAULTS: PrintOptions = { format: "A4", landscape: true, printBackground: true, margin: { top: "8mm", right: "8mm", bottom: "8mm", left: "8mm" } };
const MAX_ATTACHMENT_NAME = 200;

export class ReportService {
  private readonly queue: FairQueue<() => void>;
  private readonly inFlight = new Map<string, Promise<RunOutcome>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly deps: ReportServiceDeps) {
    this.queue = new FairQueue({ concurrency: deps.limits.concurrency, concurrencyPerAccount: deps.limits.concurrencyPerAccount });
  }

  /** Arms every active schedule. */
  async start(): Promise<void> {
    for (const row of await this.deps.store.all()) this.arm(row);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const start of this.queue.clear()) start(); // each then finds the service stopped
  }

  async create(accountId: string, body: unknown): Promise<{ id: string }> {
    if ((await this.deps.store.count(accountId)) >= this.deps.limits.maxPerAccount) {
      throw new SluiceError("REPORT_LIMIT", `the account has ${this.deps.limits.maxPerAccount} reports already (reports.maxPerAccount)`, 403);
    }
    const definition = parseReport(body, { minIntervalSeconds: this.deps.limits.minIntervalSeconds });
    await this.checkSources(accountId, definition);
    const now = new Date();
    const row: ReportRow = { id: generateId(), accountId, definition, createdAt: now, updatedAt: now, lastRun: null };
    await this.deps.store.insert(row);
    this.arm(row);
    return { id: row.id };
  }

  async list(accountId: string) {
    return (await this.deps.store.list(accountId)).map((row) => reportInfo(row, this.nextRun(row)));
  }

  async info(accountId: string, id: string) {
    const row = await this.get(accountId, id);
    return reportInfo(row, this.nextRun(row));
  }

  async edit(accountId: string, id: string, body: unknown): Promise<void> {
    const row = await this.get(accountId, id);
    const definition = parseReport(body, { current: row.definition, minIntervalSeconds: this.deps.limits.minIntervalSeconds });
    await this.checkSources(accountId, definition);
    await this.deps.store.update(accountId, id, definition, new Date());
    this.arm(await this.get(accountId, id));
  }

  async delete(accountId: string, id: string): Promise<void> {
    await this.get(accountId, id);
    this.disarm(id);
    await this.deps.store.delete(accountId, id);
    await this.deps.files.deleteOfReport(accountId, id);
  }

  /** Runs the report now (or joins the run in progress) and answers its outcome. */
  async run(accountId: string, id: string): Promise<RunOutcome> {
    await this.get(accountId, id); // 404 before anything is queued
    return this.start1(accountId, id, "manual");
  }

  async files(accountId: string, id: string): Promise<FileInfo[]> {
    await this.get(accountId, id);
    return (await this.deps.files.ofReport(accountId, id)).map(fileInfo);
  }

  /** A file of the report, with its bytes. */
  async file(accountId: string, id: string, fileId: string): Promise<{ info: StoredFileInfo; data: Buffer }> {
    const info = await this.deps.files.get(accountId, fileId);
    const data = info && info.reportId === id ? await this.deps.files.data(accountId, fileId) : undefined;
    if (!info || data === undefined) throw notFound("File");
    return { info, data };
  }

  /**
   * `Services.attachment.upload`: an analysis's file, `{ archive: base64, filename, type }` (the
   * SDK sends the file's content in base64 and its MIME type), kept with the account's files.
   */
  async uploadAttachment(accountId: string, body: unknown): Promise<FileInfo> {
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("the body must be { archive, filename, type? }");
    const b = body as Record<string, unknown>;
    const filename = b.filename ?? b.name;
    if (typeof filename !== "string" || filename.trim() === "" || filename.length > MAX_ATTACHMENT_NAME || /[\u0000-\u001f\u007f/\\]/.test(filename)) {
      throw invalid(`filename is required: a file name of at most ${MAX_ATTACHMENT_NAME} characters, without / or \\`);
    }
    const archive = b.archive ?? b.content;
    if (typeof archive !== "string" || archive === "" || !/^[A-Za-z0-9+/=\s_-]*$/.test(archive)) throw invalid("archive is required: the file's content in base64");
    const contentType = typeof b.type === "string" && /^[\w.+-]+\/[\w.+-]+$/.test(b.type) && b.type.length <= 100 ? b.type : "application/octet-stream";
    const info = await this.keep(accountId, { kind: "attachment", reportId: null, name: filename, contentType, data: Buffer.from(archive, "base64") });
    return fileInfo(info);
  }

  async attachment(accountId: string, fileId: string): Promise<{ info: StoredFileInfo; data: Buffer }> {
    const info = await this.deps.files.get(accountId, fileId);
    const data = info && info.kind === "attachment" ? await this.deps.files.data(accountId, fileId) : undefined;
    if (!info || data === undefined) throw notFound("Attachment");
    return { info, data };
  }

  // --- runs ---------------------------------------------------------------------------

  private start1(accountId: string, id: string, trigger: "manual" | "schedule"): Promise<RunOutcome> {
    const running = this.inFlight.get(id);
    if (running) return running;
    const outcome = (async () => {
      await this.slot(accountId);
      try {
        if (this.stopped) throw new SluiceError("SHUTTING_DOWN", "the server is shutting down", 503);
        const row = await this.deps.store.get(accountId, id);
        if (!row) throw notFound("Report");
        return await this.execute(row, trigger);
      } finally {
        this.queue.finish(accountId);
        this.pump();
      }
    })().finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, outcome);
    return outcome;
  }

  private async execute(row: ReportRow, trigger: "manual" | "schedule"): Promise<RunOutcome> {
    const d = row.definition;
    const now = new Date();
    const title = d.title ?? d.name;
    const stamp = timeFormatter(d.timezone)(now).replace(/[-:]/g, "").replace(" ", "-").slice(0, 13);
    const base = `${slug(d.name)}-${stamp}`;
    const produced: { name: string; contentType: string; data: Buffer }[] = [];
    const files: StoredFileInfo[] = [];
    let periodText = "";
    const started = Date.now();
    try {
      if (d.type === "data") {
        const { series, notes, period } = await this.collect(row.accountId, d.data!, now);
        const format = timeFormatter(d.timezone);
        periodText = `${format(period.start)} – ${format(period.end)} (${d.timezone})`;
        if (d.formats.includes("pdf")) {
          const html = renderReportHtml({ title, period, generatedAt: now, timezone: d.timezone, series, notes });
          const result = await this.deps.pdf.render(row.accountId, { source: { kind: "html", html }, options: { ...DATA_PDF_DEFAULTS, ...d.pdfOptions } });
          produced.push({ name: `${base}.pdf`, contentType: "application/pdf", data: result.pdf });
        }
        if (d.formats.includes("csv")) produced.push({ name: `${base}.csv`, contentType: "text/csv; charset=utf-8", data: Buffer.from(renderCsv(series)) });
      } else {
        const origin = this.deps.apiUrl();
        // The key outlives the longest print (a wait for a PDF slot, then the render's own
        // deadline) and ends with it.
        const print = await this.deps.dashboards.printKey(row.accountId, d.dashboard!, PRINT_KEY_TTL_MS);
        let result;
        try {
          result = await this.deps.pdf.render(row.accountId, {
            source: { kind: "site", url: shareViewUrl(origin, print.key), origin },
            options: { ...DASHBOARD_PDF_DEFAULTS, ...d.pdfOptions },
          });
        } finally {
          print.release();
        }
        produced.push({ name: `${base}.pdf`, contentType: "application/pdf", data: result.pdf });
      }
      for (const file of produced) files.push(await this.keep(row.accountId, { kind: "report", reportId: row.id, ...file }));
    } catch (err) {
      return this.finish(row, now, { status: "failed", message: `the report could not be made: ${(err as Error).message}`, files: files.map(fileInfo), mailed_to: [] });
    }
    const made = `${files.length} file${files.length === 1 ? "" : "s"} made in ${Date.now() - started} ms (${files.map((f) => f.name).join(", ")})`;
    if (d.recipients.length === 0) return this.finish(row, now, { status: "ok", message: made, files: files.map(fileInfo), mailed_to: [] });
    try {
      await this.mail(row, title, periodText, produced, files, now);
      return this.finish(row, now, { status: "ok", message: `${made}; mailed to ${d.recipients.join(", ")}`, files: files.map(fileInfo), mailed_to: d.recipients });
    } catch (err) {
      this.deps.logger.warn({ err, reportId: row.id, trigger }, "a report's mail was not sent");
      return this.finish(row, now, { status: "failed", message: `${made}; not mailed: ${(err as Error).message}`, files: files.map(fileInfo), mailed_to: [] });
    }
  }

  private async finish(row: ReportRow, at: Date, outcome: RunOutcome): Promise<RunOutcome> {
    const last: LastRun = { at, status: outcome.status, message: outcome.message, files: outcome.files.map((f) => f.id) };
    if (await this.deps.store.get(row.accountId, row.id)) await this.deps.store.setLastRun(row.id, last);
    if (outcome.status === "failed") this.deps.logger.info({ reportId: row.id, message: outcome.message }, "a report run failed");
    return outcome;
  }

  private async mail(row: ReportRow, title: string, periodText: string, produced: { name: string; contentType: string; data: Buffer }[], files: StoredFileInfo[], now: Date): Promise<void> {
    const d = row.definition;
    const limits = this.deps.mailer.attachmentLimits;
    const bytes = produced.reduce((sum, f) => sum + f.data.length, 0);
    const attach = produced.length <= limits.maxAttachments && bytes <= limits.maxAttachmentBytes;
    const lines = [
      d.message ?? `${title}${periodText ? `\nPeriod: ${periodText}` : ""}\nGenerated: ${timeFormatter(d.timezone)(now)} (${d.timezone})`,
      "",
      attach
        ? `Attached: ${produced.map((f) => f.name).join(", ")}.`
        : `The files are too large to attach (smtp.maxAttachmentBytes); download them from Sluice with an account token:\n${files.map((f) => `GET /report/${row.id}/file/${f.id}  (${f.name})`).join("\n")}`,
    ];
    this.deps.admitEmail(row.accountId);
    const attachments = attach ? produced.map((f) => ({ filename: f.name, content: f.data, contentType: f.contentType })) : [];
    await this.deps.mailer.send(row.accountId, { to: d.recipients, subject: `${title} – ${timeFormatter(d.timezone)(now).slice(0, 16)}`, message: lines.join("\n") }, attachments);
  }

  /** The selected records, newest `qty` per device and variable, within `reports.maxRecords` in all. */
  private async collect(accountId: string, selection: DataSelection, now: Date): Promise<{ series: Series[]; notes: string[]; period: { start: Date; end: Date } }> {
    const period = periodOf(selection, now);
    const series: Series[] = [];
    const notes: string[] = [];
    let budget = this.deps.limits.maxRecords;
    let cut = false;
    let capped = false;
    for (const deviceId of selection.devices) {
      let device: DeviceRow;
      try {
        device = await this.deps.devices.getDevice(accountId, deviceId);
      } catch {
        notes.push(`Device ${deviceId} was not found: it is left out.`);
        continue;
      }
      const perVariable = Math.floor(budget / selection.variables.length);
      if (perVariable < 1) {
        cut = true;
        continue;
      }
      const qty = Math.min(selection.qty, perVariable);
      if (qty < selection.qty) cut = true;
      const result = await this.deps.buckets.query(deviceId, {
        kind: "list", details: false, maxBytes: this.deps.maxPageBytes,
        filter: { variables: selection.variables, start: period.start, end: period.end },
        page: { qty, skip: 0, ordination: "descending" },
      });
      if (result.type !== "records") continue;
      if (result.truncated) cut = true;
      budget -= result.records.length;
      for (const variable of selection.variables) {
        const records = result.records.filter((r) => r.variable === variable).reverse();
        if (records.length === selection.qty) capped = true;
        series.push({ deviceId, deviceName: device.name, variable, records: records.map((r) => ({ time: r.time, value: r.value, unit: r.unit, group: r.group })) });
      }
    }
    if (capped) notes.push(`Only the newest ${selection.qty} records of each device and variable are shown (query.qty).`);
    if (cut) notes.push(`The report holds at most ${this.deps.limits.maxRecords} records (reports.maxRecords): older ones are left out.`);
    return { series, notes, period };
  }

  /** Keeps a file in the account's bounded store; the oldest files go to make room. */
  private async keep(accountId: string, file: { kind: "report" | "attachment"; reportId: string | null; name: string; contentType: string; data: Buffer }): Promise<StoredFileInfo> {
    if (file.data.length > this.deps.limits.maxFileBytesPerAccount) {
      throw new SluiceError("FILE_TOO_LARGE", `the file is ${file.data.length} bytes, more than the account may keep (${this.deps.limits.maxFileBytesPerAccount}, reports.maxFileBytesPerAccount)`, 413);
    }
    const info: StoredFileInfo = { id: generateId(), accountId, kind: file.kind, reportId: file.reportId, name: file.name, contentType: file.contentType, size: file.data.length, createdAt: new Date() };
    const dropped = await this.deps.files.add(info, file.data);
    if (dropped.length > 0) this.deps.logger.debug({ accountId, dropped: dropped.map((f) => f.id) }, "dropped the account's oldest files to keep a new one");
    return info;
  }

  // --- schedules ----------------------------------------------------------------------

  private arm(row: ReportRow): void {
    this.disarm(row.id);
    const next = this.nextRun(row);
    if (next === null || this.stopped) return;
    const delay = Math.max(0, next.getTime() - Date.now());
    // Timers beyond ~24.8 days overflow setTimeout; re-arm in steps instead.
    const step = Math.min(delay, 2 ** 31 - 1);
    const timer: NodeJS.Timeout = setTimeout(() => void this.fire(row, timer, step === delay), step);
    timer.unref();
    this.timers.set(row.id, timer);
  }

  /** A schedule's timer went off: runs the report if it was due (not just a step of a long wait), and arms the next time. */
  private async fire(row: ReportRow, timer: NodeJS.Timeout, due: boolean): Promise<void> {
    // The timer stays listed while the row is read: an edit or a delete meanwhile replaces or
    // removes it, and then this firing is theirs to supersede.
    let fresh: ReportRow | undefined;
    try {
      fresh = await this.deps.store.get(row.accountId, row.id);
    } catch (err) {
      if (this.timers.get(row.id) !== timer) return;
      this.deps.logger.error({ err, reportId: row.id }, "reading a scheduled report failed; it is armed for its next time");
      this.arm(row);
      return;
    }
    if (this.timers.get(row.id) !== timer) return;
    this.timers.delete(row.id);
    if (!fresh) return;
    if (due && fresh.definition.active) {
      if (this.inFlight.has(row.id)) this.deps.logger.info({ reportId: row.id }, "a scheduled report run is skipped: the previous one is still running");
      else void this.start1(row.accountId, row.id, "schedule").catch((err) => this.deps.logger.error({ err, reportId: row.id }, "a scheduled report run failed"));
    }
    this.arm(fresh);
  }

  private disarm(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  private nextRun(row: ReportRow): Date | null {
    const schedule = row.definition.schedule;
    if (!row.definition.active || schedule === null) return null;
    try {
      // A date strictly after now: a timer that fires a little early must not land on the same run again.
      return CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: new Date(Date.now() + 1) }).next().toDate();
    } catch {
      return null;
    }
  }

  // --- helpers ------------------------------------------------------------------------

  private async get(accountId: string, id: string): Promise<ReportRow> {
    const row = await this.deps.store.get(accountId, id);
    if (!row) throw notFound("Report");
    return row;
  }

  /** A report's devices and dashboard must be the account's (404 otherwise, as their own routes answer). */
  private async checkSources(accountId: string, definition: ReportDefinition): Promise<void> {
    if (definition.type === "dashboard") await this.deps.dashboards.get(accountId, definition.dashboard!);
    await this.checkDevices(accountId, definition);
  }

  private async checkDevices(accountId: string, definition: ReportDefinition): Promise<void> {
    for (const id of definition.data?.devices ?? []) {
      try {
        await this.deps.devices.getDevice(accountId, id);
      } catch {
        throw invalid(`query.devices: device ${id} is not a device of the account`);
      }
    }
  }

  private slot(accountId: string): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push(accountId, resolve);
      this.pump();
    });
  }

  private pump(): void {
    for (let next = this.queue.take(); next; next = this.queue.take()) next.item();
  }
}

function fileInfo(f: StoredFileInfo): FileInfo {
  return {
    id: f.id, name: f.name, content_type: f.contentType, size: f.size, created_at: f.createdAt.toISOString(), report: f.reportId,
    url: f.reportId !== null ? `/report/${f.reportId}/file/${f.id}` : `/analysis/services/attachment/${f.id}`,
  };
}

/** A file name part from a report's name: letters, digits and dashes. */
function slug(name: string): string {
  const s = name.normalize("NFKD").replace(/[^\w\s-]/g, "").trim().replace(/[\s_]+/g, "-").toLowerCase().slice(0, 60);
  return s === "" ? "report" : s;
}
