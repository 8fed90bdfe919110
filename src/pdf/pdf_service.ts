/**
 * PDFs rendered by headless Chromium (playwright-core driving the system's `chromium`): the
 * analyses' `Services.PDF.generate` and reports. One browser, shared and started at the first
 * job (closed after `pdf.idleMs` without one); each job gets a browser context of its own (own
 * renderer process, cookies and storage) and one page, closed when it ends.
 *
 * Bounds: jobs share pages fairly by account (limits/fair_queue.ts: `concurrency`,
 * `concurrencyPerAccount`, waiting bounded in all and per account, 429 past them); a job has
 * `timeoutMs` from the moment it has a page (its context is closed at the deadline, whatever
 * its script is doing); HTML in is bounded by `maxInputBytes`, the PDF out by `maxOutputBytes`
 * and `maxPages`.
 *
 * The network: the page reaches nothing. Every request it makes (documents, images, fetch, XHR,
 * beacons, frames, workers' requests) is intercepted: the job's own document is answered from
 * here, everything else is aborted; WebSockets are closed before they connect, service workers
 * are blocked. A `url` job's document is fetched by Sluice itself through the outbound guard
 * (page_fetch.ts: `outbound.allowPrivateTargets`, every redirect checked), never by the
 * browser, so DNS answers cannot move it elsewhere. Underneath, Chromium is started with a proxy
 * that does not exist and a resolver that resolves nothing, so a request that escaped the
 * interception would still go nowhere. `file:` URLs are never served, and pages live on an
 * http origin, from which Chromium refuses `file:` frames and navigations.
 */
import { accessSync, constants as fsConstants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, Route } from "playwright-core";
import type { PdfConfig } from "../config/schema.js";
import { SluiceError } from "../errors.js";
import { FairQueue, QueueFull } from "../limits/fair_queue.js";
import type { Logger } from "../observability/logger.js";
import type { OutboundGuard } from "../outbound/guard.js";
import { fetchPage } from "./page_fetch.js";
import type { PdfJob, PrintOptions } from "./pdf_request.js";

/** Where an `html` job's document lives: an http origin of its own that resolves nowhere. */
export const HTML_JOB_URL = "http://pdf.sluice.invalid/";

/** PDF features are off: no Chromium at `pdf.chromiumPath`, or it would not start. 503, with how to turn them on. */
export class PdfUnavailable extends SluiceError {
  constructor(why: string) {
    super(
      "PDF_NOT_AVAILABLE",
      `PDF generation is not available on this server: ${why}. To enable it, install Chromium (Debian/Ubuntu: apt-get install chromium) ` +
        "and set pdf.chromiumPath (SLUICE_PDF_CHROMIUM_PATH, --pdf-chromium-path) to its executable; see docs/reports.md",
      503,
    );
    this.name = "PdfUnavailable";
  }
}

export interface PdfResult {
  pdf: Buffer;
  pages: number;
  /** Time from having a page to the PDF, ms (waiting in the queue not counted). */
  renderMs: number;
}

export interface PdfServiceDeps {
  config: PdfConfig;
  /** Decides where a `url` job's document may be fetched from. */
  guard: OutboundGuard;
  logger: Logger;
}

/** Chromium's flags: no network of its own (see the file's comment), no background traffic. */
const CHROMIUM_ARGS = [
  "--proxy-server=http://no-network.sluice.invalid:9",
  "--proxy-bypass-list=<-loopback>",
  "--host-resolver-rules=MAP * ~NOTFOUND",
  "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
  "--webrtc-ip-handling-policy=disable_non_proxied_udp",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-domain-reliability",
  "--disable-sync",
  "--no-pings",
  "--dns-prefetch-disable",
  "--disable-dev-shm-usage",
];
/** How long closing a job's context may take before the browser is thought stuck and restarted. */
const CLOSE_TIMEOUT_MS = 5000;
/** A `site` page is printed once none of its requests has been open for this long. */
const SITE_QUIET_MS = 500;
const LAUNCH_TIMEOUT_MS = 30_000;

export class PdfService {
  private readonly config: PdfConfig;
  private readonly queue: FairQueue<() => void>;
  private browser: Promise<Browser> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** A context and page made ahead for the next job (takePage). */
  private spare: { browser: Browser; page: Promise<JobPage> } | undefined;
  private profileDir: string | undefined;
  private closed = false;

  constructor(private readonly deps: PdfServiceDeps) {
    this.config = deps.config;
    this.queue = new FairQueue({
      concurrency: this.config.concurrency, concurrencyPerAccount: this.config.concurrencyPerAccount,
      maxWaiting: this.config.maxWaiting, maxWaitingPerAccount: this.config.maxWaitingPerAccount,
    });
  }

  /** Why PDFs cannot be made now (no executable at the configured path), or undefined. */
  unavailable(): string | undefined {
    const path = this.config.chromiumPath;
    if (path === "") return "pdf.chromiumPath is empty";
    try {
      accessSync(path, fsConstants.X_OK);
      return undefined;
    } catch {
      return `no Chromium executable at ${path} (pdf.chromiumPath)`;
    }
  }

  /** Renders a job for the account, in its turn. Throws PdfUnavailable (503), QUEUE_FULL (429), PDF_TIMEOUT (422), PDF_TOO_LARGE (413). */
  async render(accountId: string, job: PdfJob): Promise<PdfResult> {
    const why = this.unavailable();
    if (why !== undefined) throw new PdfUnavailable(why);
    if (this.closed) throw new PdfUnavailable("the server is shutting down");
    await this.slot(accountId);
    try {
      const browser = await this.ensureBrowser();
      return await this.renderIn(browser, job);
    } finally {
      this.queue.finish(accountId);
      this.pump();
      this.armIdle();
    }
  }

  /** Closes the browser; jobs in progress fail, waiting ones are refused. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    for (const start of this.queue.clear()) start(); // each then fails at ensureBrowser
    await this.stopBrowser();
  }

  private async renderIn(browser: Browser, job: PdfJob): Promise<PdfResult> {
    const started = Date.now();
    const deadline = started + this.config.timeoutMs;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.config.timeoutMs);
    const timeoutError = () => new SluiceError("PDF_TIMEOUT", `the document took longer than ${this.config.timeoutMs} ms to load and print (pdf.timeoutMs)`, 422);
    let taken: Promise<JobPage> | undefined;
    try {
      // Everything from here to the PDF races the deadline: fetching a `url`, getting a page,
      // loading (a script may spin forever), printing.
      const work = (async () => {
        const document = await this.documentOf(job, abort.signal);
        // Past the deadline (and so past `finally`), no page is taken that nobody would close.
        if (abort.signal.aborted) throw timeoutError();
        taken = this.takePage(browser);
        const { page, serve } = await taken;
        const traffic = new Traffic();
        serve(this.confinement(page, job, document, traffic));
        // Committed, then loaded as the page itself says: a script that starts another
        // navigation (cancelled by the confinement) would leave goto's own "load" waiting forever.
        await page.goto(document.url, { waitUntil: "commit", timeout: Math.max(1, deadline - Date.now()) });
        // A document whose loading was stopped (a cancelled navigation stops it) never fires
        // "load", but its readyState does reach "complete": either ends the wait.
        await page.evaluate(() => new Promise<boolean>((resolve) => {
          const doc = (globalThis as unknown as { document: { readyState: string } }).document;
          const check = () => doc.readyState === "complete" && resolve(true);
          globalThis.addEventListener("load", () => resolve(true), { once: true });
          setInterval(check, 50);
          check();
        }));
        // An app of Sluice's own (the dashboard share view) asks its API after it loaded and
        // says when everything is drawn (`data-ready="1"` on <html>): printed once it has said
        // so and its requests (pictures) have settled; a page that never does meets the deadline.
        if (job.source.kind === "site") {
          await page.evaluate(() => new Promise<boolean>((resolve) => {
            const root = (globalThis as unknown as { document: { documentElement: { dataset: Record<string, string | undefined> } } }).document.documentElement;
            const check = () => root.dataset.ready === "1" && resolve(true);
            setInterval(check, 50);
            check();
          }));
          await traffic.quiet(SITE_QUIET_MS, abort.signal);
        }
        return page.pdf(this.printOptions(job.options));
      })();
      work.catch(() => {}); // past the deadline nobody waits for it any more
      const timedOut = new Promise<never>((_, reject) => {
        if (abort.signal.aborted) reject(timeoutError());
        else abort.signal.addEventListener("abort", () => reject(timeoutError()), { once: true });
      });
      timedOut.catch(() => {});
      const pdf = await Promise.race([work, timedOut]);
      if (pdf.length > this.config.maxOutputBytes) {
        throw new SluiceError("PDF_TOO_LARGE", `the PDF would be ${pdf.length} bytes, more than ${this.config.maxOutputBytes} (pdf.maxOutputBytes)`, 413);
      }
      const pages = countPages(pdf);
      if (pages > this.config.maxPages) throw new SluiceError("PDF_TOO_LARGE", `the PDF would have more than ${this.config.maxPages} pages (pdf.maxPages)`, 413);
      return { pdf, pages, renderMs: Date.now() - started };
    } catch (err) {
      // Past the deadline, whatever failed failed because of it (a fetch aborted, a page closed).
      const ownError = err instanceof SluiceError && err.code !== "PDF_SOURCE_FAILED";
      if (abort.signal.aborted && !ownError) throw timeoutError();
      if (err instanceof SluiceError) throw err;
      // A page that crashed (out of memory, a renderer killed) or a document Chrome cannot print.
      this.deps.logger.warn({ err }, "a PDF job failed in the browser");
      throw new SluiceError("PDF_FAILED", `the document could not be printed: ${firstLine((err as Error).message)}`, 422);
    } finally {
      clearTimeout(timer);
      abort.abort();
      if (taken !== undefined) await this.release(taken);
    }
  }

  /** Closes a job's context, even one whose page was still being made at the deadline. */
  private async release(taken: Promise<JobPage>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CLOSE_TIMEOUT_MS)));
    const got = await Promise.race([taken.catch(() => undefined), late]);
    clearTimeout(timer);
    if (got !== undefined) return this.closeContext(got.context);
    // The browser did not give a page within the deadline and then some: close it when it does,
    // and start the browser afresh for the next job.
    void taken.then((p) => p.context.close(), () => {}).catch(() => {});
    this.deps.logger.warn("the PDF browser did not give a page in time; restarting it");
    await this.stopBrowser();
  }

  /** The job's document: its URL in the page, and what answers it. */
  private async documentOf(job: PdfJob, signal: AbortSignal): Promise<{ url: string; contentType: string; body: Buffer | undefined }> {
    switch (job.source.kind) {
      case "html":
        return { url: HTML_JOB_URL, contentType: "text/html; charset=utf-8", body: Buffer.from(job.source.html) };
      case "url": {
        const page = await fetchPage(this.deps.guard, job.source.url, { maxBytes: this.config.maxInputBytes, signal });
        return { url: job.source.url.href, contentType: page.contentType, body: page.body };
      }
      case "site":
        return { url: job.source.url, contentType: "", body: undefined };
    }
  }

  /**
   * How every request of the job's context is answered (the context's interception is in place
   * from its start: newPage): the document (once, as the main frame's navigation), a `site`
   * job's own origin (fetched by Sluice from its own API; streams refused), nothing else.
   */
  private confinement(page: Page, job: PdfJob, document: { url: string; contentType: string; body: Buffer | undefined }, traffic: Traffic): (route: Route) => Promise<void> {
    let served = false;
    const source = job.source;
    return async (route: Route) => {
      const request = route.request();
      const url = request.url();
      traffic.begin();
      try {
        if (!served && document.body !== undefined && url === document.url && request.isNavigationRequest() && request.frame() === page.mainFrame()) {
          served = true;
          await route.fulfill({ status: 200, contentType: document.contentType, body: document.body });
          return;
        }
        if (source.kind === "site" && sameOrigin(url, source.origin) && request.headers().accept !== "text/event-stream") {
          const posted = request.postDataBuffer();
          const answer = await fetch(url, { method: request.method(), headers: withoutHop(request.headers()), ...(posted !== null && { body: new Uint8Array(posted) }), redirect: "manual" });
          const body = Buffer.from(await answer.arrayBuffer());
          // fetch has decoded the body already: its encoding and length headers no longer hold.
          const headers = Object.fromEntries([...answer.headers].filter(([name]) => name !== "content-encoding" && name !== "content-length"));
          await route.fulfill({ status: answer.status, headers, body });
          return;
        }
        // A navigation elsewhere (a script's `location.href = ...`, a refresh, a frame) is
        // cancelled as a user would cancel it: the page stays, with no error page to print.
        if (request.isNavigationRequest()) await route.abort("aborted");
        else await route.abort("blockedbyclient");
      } catch {
        // The page or context closed meanwhile (a job past its deadline): nothing to answer.
        await route.abort("blockedbyclient").catch(() => {});
      } finally {
        traffic.end();
      }
    };
  }

  private printOptions(options: PrintOptions): Parameters<Page["pdf"]>[0] {
    // Chrome prints pages as long as there is content: without ranges of the job's own, one page
    // past the bound is enough to know it was passed.
    return { ...options, pageRanges: options.pageRanges ?? `1-${this.config.maxPages + 1}` };
  }

  private async closeContext(context: BrowserContext): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<"stuck">((resolve) => (timer = setTimeout(() => resolve("stuck"), CLOSE_TIMEOUT_MS)));
    const outcome = await Promise.race([context.close().then(() => "closed" as const, () => "closed" as const), stuck]);
    clearTimeout(timer);
    if (outcome === "stuck") {
      this.deps.logger.warn("a PDF job's page would not close; restarting the browser");
      await this.stopBrowser();
    }
  }

  private ensureBrowser(): Promise<Browser> {
    if (this.closed) return Promise.reject(new PdfUnavailable("the server is shutting down"));
    this.browser ??= this.launch();
    return this.browser;
  }

  private async launch(): Promise<Browser> {
    const started = Date.now();
    try {
      const { chromium } = await import("playwright-core");
      this.profileDir ??= mkdtempSync(join(tmpdir(), "sluice-chromium-"));
      const browser = await chromium.launch({
        executablePath: this.config.chromiumPath,
        headless: true,
        // Chromium's sandbox needs user namespaces that root (in a container, often) does not get.
        args: [...CHROMIUM_ARGS, ...(process.getuid?.() === 0 ? ["--no-sandbox"] : [])],
        // Nothing of Sluice's environment (SMTP password, relay secret) reaches the browser.
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: this.profileDir, ...(process.env.TZ !== undefined && { TZ: process.env.TZ }), LANG: "C.UTF-8" },
        timeout: LAUNCH_TIMEOUT_MS,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
      browser.on("disconnected", () => {
        if (this.browser !== undefined) this.deps.logger.info("the PDF browser is gone; the next job starts it again");
        this.browser = undefined;
      });
      this.deps.logger.info({ ms: Date.now() - started, version: browser.version() }, "started Chromium for PDF jobs");
      return browser;
    } catch (err) {
      this.browser = undefined;
      this.deps.logger.error({ err }, "Chromium would not start");
      throw new PdfUnavailable(`Chromium at ${this.config.chromiumPath} would not start (${firstLine((err as Error).message)})`);
    }
  }

  /**
   * A new context and page for a job. Making a page starts a renderer process, most of a small
   * job's time (~300-600 ms of ~800), so one is made ahead: the job takes the spare, which has
   * never held anything (about:blank, no script, no route), and the next spare is started at
   * once. Every job still gets a context of its own.
   */
  private async takePage(browser: Browser): Promise<JobPage> {
    const spare = this.spare;
    this.spare = undefined;
    const ready = spare !== undefined && spare.browser === browser ? await spare.page.catch(() => undefined) : undefined;
    if (spare !== undefined && ready === undefined) void spare.page.then((p) => p.context.close(), () => {}).catch(() => {});
    if (!this.closed) {
      const page = newPage(browser);
      page.catch(() => {}); // a spare that fails is made again by the next job
      this.spare = { browser, page };
    }
    return ready !== undefined && !ready.page.isClosed() ? ready : newPage(browser);
  }

  private async stopBrowser(): Promise<void> {
    const pending = this.browser;
    this.browser = undefined;
    this.spare = undefined; // closed with its browser
    if (pending) {
      const browser = await pending.catch(() => undefined);
      await browser?.close().catch(() => {});
    }
    if (this.profileDir !== undefined && this.closed) {
      rmSync(this.profileDir, { recursive: true, force: true });
      this.profileDir = undefined;
    }
  }

  /** Closes the browser once no job has run for `idleMs`: a page-less Chromium still holds ~100 MB. */
  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.queue.active > 0 || this.queue.waiting > 0 || this.closed) return;
    this.idleTimer = setTimeout(() => {
      if (this.queue.active === 0 && this.queue.waiting === 0) void this.stopBrowser();
    }, this.config.idleMs);
    this.idleTimer.unref();
  }

  private slot(accountId: string): Promise<void> {
    clearTimeout(this.idleTimer);
    return new Promise((resolve, reject) => {
      try {
        this.queue.push(accountId, resolve);
      } catch (err) {
        if (!(err instanceof QueueFull)) throw err;
        reject(new SluiceError("QUEUE_FULL", err.scope === "account" ? `${err.bound} PDF jobs of the account are already waiting` : `${err.bound} PDF jobs are already waiting`, 429));
        return;
      }
      this.pump();
    });
  }

  private pump(): void {
    for (let next = this.queue.take(); next; next = this.queue.take()) next.item();
  }
}

/** The requests of a job's page being answered, and when the last one ended. */
class Traffic {
  private open = 0;
  private last = Date.now();

  begin(): void {
    this.open++;
    this.last = Date.now();
  }

  end(): void {
    this.open--;
    this.last = Date.now();
  }

  /** Resolves once no request has been open for `ms` (the job's deadline aborts it). */
  async quiet(ms: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted && (this.open > 0 || Date.now() - this.last < ms)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A job's context and page; `serve` says how its requests are answered (until then: refused). */
interface JobPage {
  context: BrowserContext;
  page: Page;
  serve(handler: (route: Route) => Promise<void>): void;
}

/**
 * A new context whose every request goes through `serve`'s handler, and WebSockets nowhere,
 * from before its page exists: no request of the page can come before the interception.
 */
async function newPage(browser: Browser): Promise<JobPage> {
  const context = await browser.newContext({ serviceWorkers: "block", acceptDownloads: false, javaScriptEnabled: true });
  try {
    let handler: ((route: Route) => Promise<void>) | undefined;
    await context.route("**/*", (route) => (handler !== undefined ? handler(route) : route.abort("blockedbyclient").catch(() => {})));
    await context.routeWebSocket(/.*/, (ws) => {
      void ws.close({ code: 1008, reason: "no network for PDF jobs" }).catch(() => {});
    });
    const page = await context.newPage();
    return { context, page, serve: (h) => (handler = h) };
  } catch (err) {
    await context.close().catch(() => {});
    throw err;
  }
}

/** Pages of a PDF as Chrome (Skia) writes it: one uncompressed `/Type /Page` dictionary each. */
export function countPages(pdf: Buffer): number {
  const text = pdf.toString("latin1");
  let count = 0;
  for (const _ of text.matchAll(/\/Type\s*\/Page(?![A-Za-z])/g)) count++;
  return count;
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === new URL(origin).origin;
  } catch {
    return false;
  }
}

/** Request headers a proxied request may carry on (no connection-level ones). */
function withoutHop(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!["host", "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade"].includes(name.toLowerCase())) out[name] = value;
  }
  return out;
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.slice(0, 300);
}
