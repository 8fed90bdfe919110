import type { WebhookPolicy } from "../config/schema.js";
import { generateId } from "../identity/tokens.js";
import type { InspectorSink } from "../inspector/types.js";
import type { Logger } from "../observability/logger.js";
import { OutboundRefused, type OutboundGuard } from "../outbound/guard.js";
import { FairQueue } from "../limits/fair_queue.js";
import { GuardedPoster } from "../outbound/http_post.js";
import type { DeadLetter, DeadLetterStore } from "./sqlite/dead_letter_store.js";

/** One webhook call to make: already templated, its body already JSON. */
export interface WebhookRequest {
  accountId: string;
  actionId: string;
  actionName: string;
  /** The device the delivery is about: its inspector shows a dead letter. */
  deviceId?: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface WebhookDeliveryDeps {
  policy: WebhookPolicy;
  deadLetters: Pick<DeadLetterStore, "insert">;
  inspector: InspectorSink;
  logger: Logger;
  /** `outbound.allowPrivateTargets`, checked on the address each request connects to. */
  guard: OutboundGuard;
}

interface Job {
  request: WebhookRequest;
  attempts: number;
  firstAttemptAt: Date | undefined;
  lastStatus: number | null;
  lastError: string;
}

type Outcome = { ok: true } | { ok: false; retry: boolean; status: number | null; error: string; retryAfterMs?: number };

/**
 * Delivers `post` action webhooks off the message path: `enqueue` returns at once, so a slow
 * or failing endpoint never holds an MQTT ack or an HTTP response. Network errors, timeouts,
 * 5xx, 408 and 429 are retried with exponential backoff (doubling from `baseDelayMs`, capped,
 * with up to 20 % jitter so failed deliveries do not return in step; a longer Retry-After is
 * honoured up to the cap) until `attempts` are used; other statuses fail at once. A delivery
 * that fails for good becomes a dead letter: stored (bounded per account) and shown in its
 * device's inspector.
 *
 * The pool is shared fairly between accounts (limits/fair_queue.ts): at most `concurrency`
 * requests in flight and `concurrencyPerAccount` of one account, accounts taking turns for
 * free slots, first in first out within an account. Deliveries not finished (queued, in flight
 * or between attempts) are bounded by `maxPendingPerAccount` per account and `maxPending` in
 * all; past either a new one is dead-lettered without an attempt. So an account whose
 * endpoint hangs fills its own share with its own dead letters, and another account's
 * delivery still gets a slot at once.
 */
export class WebhookDelivery {
  private readonly queue: FairQueue<Job>;
  private readonly retrying = new Map<Job, NodeJS.Timeout>();
  private readonly inFlight = new Map<Job, AbortController>();
  private readonly settled = new Set<Promise<void>>();
  /** Unfinished deliveries by account (queued, in flight, between attempts). */
  private readonly pendingBy = new Map<string, number>();
  private pendingCount = 0;
  private stopped = false;
  private readonly poster: GuardedPoster;

  constructor(private readonly deps: WebhookDeliveryDeps) {
    this.poster = new GuardedPoster(deps.guard);
    // Waiting is bounded here, by pending deliveries, not by the queue: a retry must come back.
    this.queue = new FairQueue({ concurrency: deps.policy.concurrency, concurrencyPerAccount: deps.policy.concurrencyPerAccount });
  }

  /** Deliveries not finished yet. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Queues a delivery; false when it was dead-lettered at once (too many pending, or stopped). */
  enqueue(request: WebhookRequest): boolean {
    const job: Job = { request, attempts: 0, firstAttemptAt: undefined, lastStatus: null, lastError: "" };
    const { maxPending, maxPendingPerAccount } = this.deps.policy;
    const refusal = this.stopped ? "Sluice is stopping"
      : (this.pendingBy.get(request.accountId) ?? 0) >= maxPendingPerAccount ? `too many webhook deliveries pending for the account (${maxPendingPerAccount})`
      : this.pendingCount >= maxPending ? `too many webhook deliveries pending (${maxPending})`
      : undefined;
    if (refusal) {
      job.lastError = refusal;
      this.deadLetter(job);
      return false;
    }
    this.pendingBy.set(request.accountId, (this.pendingBy.get(request.accountId) ?? 0) + 1);
    this.pendingCount++;
    this.queue.push(request.accountId, job);
    this.pump();
    return true;
  }

  /**
   * At shutdown: aborts requests in flight and dead-letters every unfinished delivery (pending
   * ones live in memory only, so they would otherwise vanish unseen). Call before the store closes.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const controller of this.inFlight.values()) controller.abort();
    await Promise.all([...this.settled]);
    const left = [...this.queue.clear(), ...this.retrying.keys()];
    for (const timer of this.retrying.values()) clearTimeout(timer);
    this.retrying.clear();
    for (const job of left) {
      job.lastError = `Sluice stopped before the delivery succeeded${job.lastError ? ` (last error: ${job.lastError})` : ""}`;
      this.finished(job);
      this.deadLetter(job);
    }
    this.poster.close();
  }

  private pump(): void {
    for (let next = this.stopped ? undefined : this.queue.take(); next; next = this.stopped ? undefined : this.queue.take()) {
      const job = next.item;
      const controller = new AbortController();
      this.inFlight.set(job, controller);
      const done: Promise<void> = this.attempt(job, controller).finally(() => {
        this.inFlight.delete(job);
        this.queue.finish(job.request.accountId);
        this.settled.delete(done);
        this.pump();
      });
      this.settled.add(done);
    }
  }

  private async attempt(job: Job, controller: AbortController): Promise<void> {
    job.attempts++;
    job.firstAttemptAt ??= new Date();
    const outcome = await this.post(job.request, controller);
    if (outcome.ok) {
      this.finished(job);
      if (job.attempts > 1) this.deps.logger.debug({ url: job.request.url, attempts: job.attempts }, "webhook delivered after retries");
      return;
    }
    job.lastStatus = outcome.status;
    job.lastError = outcome.error;
    if (this.stopped) {
      job.lastError = `Sluice stopped before the delivery succeeded (last error: ${outcome.error})`;
      this.finished(job);
      this.deadLetter(job);
      return;
    }
    if (!outcome.retry || job.attempts >= this.deps.policy.attempts) {
      this.finished(job);
      this.deadLetter(job);
      return;
    }
    const { baseDelayMs, maxDelayMs } = this.deps.policy;
    const backoff = baseDelayMs * 2 ** (job.attempts - 1) * (1 + Math.random() * 0.2);
    const delay = Math.min(maxDelayMs, Math.max(backoff, outcome.retryAfterMs ?? 0));
    const timer = setTimeout(() => {
      this.retrying.delete(job);
      // Already counted as pending: a retry is never refused (it goes to the back of its account's queue).
      this.queue.push(job.request.accountId, job, { unbounded: true });
      this.pump();
    }, delay);
    timer.unref();
    this.retrying.set(job, timer);
  }

  private async post(request: WebhookRequest, controller: AbortController): Promise<Outcome> {
    const timeout = setTimeout(() => controller.abort(new Error(`no response within ${this.deps.policy.timeoutMs} ms`)), this.deps.policy.timeoutMs);
    try {
      // Redirects are not followed (GuardedPoster): a redirected POST would turn into a GET
      // elsewhere, and the endpoint must be the URL given.
      const response = await this.poster.post(request.url, {
        headers: { "content-type": "application/json", "user-agent": "Sluice-Webhook", ...request.headers },
        body: request.body,
        signal: controller.signal,
      });
      if (response.status >= 200 && response.status < 300) return { ok: true };
      const retry = response.status >= 500 || response.status === 408 || response.status === 429;
      const retryHeader = response.headers["retry-after"];
      return { ok: false, retry, status: response.status, error: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`, retryAfterMs: retryAfter(typeof retryHeader === "string" ? retryHeader : null) };
    } catch (err) {
      // Refused by the policy: not retried, since trying again cannot change the answer and
      // attempts spread over time would only make the refusal a slower probe.
      if (err instanceof OutboundRefused) return { ok: false, retry: false, status: null, error: err.message };
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      return { ok: false, retry: true, status: null, error: describe(reason) };
    } finally {
      clearTimeout(timeout);
    }
  }

  /** A counted delivery ended (delivered, or dead-lettered after it was queued). */
  private finished(job: Job): void {
    const { accountId } = job.request;
    const n = this.pendingBy.get(accountId) ?? 0;
    if (n <= 1) this.pendingBy.delete(accountId);
    else this.pendingBy.set(accountId, n - 1);
    this.pendingCount--;
  }

  private deadLetter(job: Job): void {
    const { request } = job;
    const letter: DeadLetter = {
      id: generateId(), accountId: request.accountId, actionId: request.actionId, deviceId: request.deviceId ?? null,
      url: request.url, status: job.lastStatus, attempts: job.attempts, error: job.lastError, body: request.body,
      firstAttemptAt: job.firstAttemptAt ?? new Date(), failedAt: new Date(),
    };
    this.deps.deadLetters.insert(letter, this.deps.policy.deadLettersPerAccount).catch((err: unknown) => {
      this.deps.logger.error({ err, action: request.actionId }, "storing a webhook dead letter failed");
    });
    this.deps.logger.debug({ action: request.actionId, url: request.url, attempts: job.attempts, error: job.lastError }, "webhook dead-lettered");
    const { deviceId } = request;
    if (deviceId && this.deps.inspector.wants(deviceId)) {
      this.deps.inspector.record(deviceId, "dead_letter", `${request.actionName}: POST ${request.url} failed after ${job.attempts} attempt${job.attempts === 1 ? "" : "s"}: ${job.lastError}`, {
        action: request.actionId, id: letter.id, url: request.url, status: job.lastStatus, attempts: job.attempts, error: job.lastError,
      });
    }
  }
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** A network error as the user needs it: its message, which for node:http names the code (ECONNREFUSED...). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return `${err.message}: ${(cause as { code?: string }).code ?? cause.message}`;
  return err.message;
}
