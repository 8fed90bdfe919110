import { invalid } from "../errors.js";
import { LimitExceeded, type LimitName } from "./errors.js";
import { monthOf } from "./month.js";
import type { Plan } from "./plans.js";
import { TokenBucket } from "./token_bucket.js";

const MINUTE = 60_000;

/** A refusal, as cheap as a plain object (no stack trace: floods produce many). */
export interface Refusal {
  limit: LimitName;
  message: string;
  /** For rates: when the client may try again. */
  retryAfterMs?: number;
}

/** Counters kept per calendar month, and the plan field that bounds each. */
export const MONTHLY = {
  records: "recordsPerMonth",
  analysis_runs: "analysisRunsPerMonth",
  notifications: "notificationsPerMonth",
  emails: "emailsPerMonth",
} as const satisfies Record<string, keyof Plan>;
export type MonthlyMetric = keyof typeof MONTHLY;

export type HttpClass = keyof Plan["http"];

/** Counted usage not yet written: what to add to one stored counter. */
export interface UsageDelta {
  accountId: string;
  period: string;
  metric: string;
  delta: number;
}

/** Where monthly counters persist (store/sqlite/usage.ts, store/postgres/usage.ts). */
export interface UsageRepository {
  /** Every account's counters of a period (`YYYY-MM`, UTC): account id → metric → count. */
  loadPeriod(period: string): Promise<Map<string, Map<string, number>>>;
  /**
   * Adds the deltas to the stored counters, all or none. Never a total written over another:
   * nodes sharing one database each add what they counted.
   */
  add(rows: UsageDelta[]): Promise<void>;
}

/** A monthly counter that went from `before` to `after` (usage alerts watch these). */
export interface UsageChange {
  accountId: string;
  metric: MonthlyMetric;
  before: number;
  after: number;
  limit: number;
}

export interface LimitsOptions {
  plans: Map<string, Plan>;
  defaultPlan: string;
  usage: UsageRepository;
  /** Called after a monthly counter grows. */
  onUsage?(change: UsageChange): void;
  /** How often counted usage is written to the repository (default 2 s). */
  flushIntervalMs?: number;
  /** A failed write of counted usage (the counts are kept and written with the next flush). */
  onError?(error: unknown): void;
  now?: () => number;
}

/** One account's plan and the state its rates and monthly quotas need. */
class AccountState {
  /** False on a plan with no finite publish rate: the MQTT hot path then stops at this flag. */
  readonly limitsPublishes: boolean;
  readonly publishes?: TokenBucket;
  readonly records?: TokenBucket;
  readonly http: Partial<Record<HttpClass, TokenBucket>> = {};
  period = "";
  periodEndsAt = 0;
  monthly = new Map<string, number>();

  constructor(
    readonly accountId: string,
    readonly plan: Plan,
    now: number,
  ) {
    this.limitsPublishes = Number.isFinite(plan.publishesPerMinute) || Number.isFinite(plan.maxPayloadBytes);
    if (Number.isFinite(plan.publishesPerMinute)) this.publishes = new TokenBucket(plan.publishesPerMinute, MINUTE, now);
    if (Number.isFinite(plan.recordsPerMinute)) this.records = new TokenBucket(plan.recordsPerMinute, MINUTE, now);
    for (const [cls, perMinute] of Object.entries(plan.http) as [HttpClass, number][]) {
      if (Number.isFinite(perMinute)) this.http[cls] = new TokenBucket(perMinute, MINUTE, now);
    }
  }
}

/**
 * Plans enforced at the point of entry: token buckets for rates, counters for monthly quotas,
 * all in memory, so a check costs no database round trip. Monthly counters are written to the
 * repository as deltas every `flushIntervalMs` (and on stop), and the month's stored counters are
 * read once at start (`load`), so a restart loses at most that interval of counting. A new month
 * starts from zero. Accounts have separate state: one account hitting its limits never slows
 * another.
 */
export class Limits {
  private readonly accounts = new Map<string, AccountState>();
  /** Plan names by account, as assigned (absent: the default plan). */
  private readonly assigned = new Map<string, string>();
  private readonly pending = new Map<string, number>();
  /** The write in flight; one at a time, so a slow database never has several queued from here. */
  private writing: Promise<void> | undefined;
  /** The month's stored counters read at start, by account, until each account's state takes its own. */
  private loaded: { period: string; counts: Map<string, Map<string, number>> } | undefined;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: LimitsOptions) {
    if (!options.plans.has(options.defaultPlan)) throw new Error(`defaultPlan "${options.defaultPlan}" is not a defined plan`);
    this.now = options.now ?? Date.now;
    this.flushTimer = setInterval(() => {
      if (!this.writing) void this.flush();
    }, options.flushIntervalMs ?? 2000);
    this.flushTimer.unref();
  }

  get plans(): ReadonlyMap<string, Plan> {
    return this.options.plans;
  }

  /** Reads the month's stored counters of every account: once, at start, before anything is counted. */
  async load(): Promise<void> {
    const { period } = monthOf(this.now());
    this.loaded = { period, counts: await this.options.usage.loadPeriod(period) };
  }

  /** Records an account's plan (null: the default). Rates start afresh under a new plan; the month's counts go on. */
  assign(accountId: string, plan: string | null): void {
    if (plan !== null && !this.options.plans.has(plan)) throw invalid(`plan "${plan}" is not defined`);
    if (plan === null) this.assigned.delete(accountId);
    else this.assigned.set(accountId, plan);
    const old = this.accounts.get(accountId);
    this.accounts.delete(accountId);
    if (old) {
      const s = this.state(accountId);
      s.period = old.period;
      s.periodEndsAt = old.periodEndsAt;
      s.monthly = old.monthly;
    }
  }

  forget(accountId: string): void {
    this.assigned.delete(accountId);
    this.accounts.delete(accountId);
    this.loaded?.counts.delete(accountId);
  }

  planOf(accountId: string): Plan {
    return this.state(accountId).plan;
  }

  /** A PUBLISH of `bytes` from the account: its payload ceiling and publish rate. `now` saves a clock read on this hot path. */
  admitPublish(accountId: string, bytes: number, now?: number): Refusal | undefined {
    const s = this.state(accountId);
    if (!s.limitsPublishes) return undefined;
    if (bytes > s.plan.maxPayloadBytes) return { limit: "maxPayloadBytes", message: `payload of ${bytes} bytes is over the plan's ${s.plan.maxPayloadBytes}` };
    return s.publishes ? this.takeRate(s.publishes, "publishesPerMinute", "publishes per minute", 1, now) : undefined;
  }

  /** `n` records about to be stored: the per-minute rate and the monthly quota. */
  admitRecords(accountId: string, n: number): Refusal | undefined {
    const s = this.state(accountId);
    const month = this.checkMonthly(s, "records", n);
    if (month) return month;
    if (s.records) {
      const refusal = this.takeRate(s.records, "recordsPerMinute", "records per minute", n);
      if (refusal) return refusal;
    }
    this.count(s, "records", n);
    return undefined;
  }

  /** One analysis run, notification or email: the monthly quota, counted when admitted. */
  admitMonthly(accountId: string, metric: Exclude<MonthlyMetric, "records">): Refusal | undefined {
    const s = this.state(accountId);
    const refusal = this.checkMonthly(s, metric, 1);
    if (!refusal) this.count(s, metric, 1);
    return refusal;
  }

  /** One HTTP request of a rate-limited class. */
  admitHttp(accountId: string, cls: HttpClass): Refusal | undefined {
    const bucket = this.state(accountId).http[cls];
    return bucket ? this.takeRate(bucket, `http.${cls}`, `${cls} requests per minute`) : undefined;
  }

  /** Throws the refusal as an error (for HTTP routes and the pipeline). */
  static enforce(refusal: Refusal | undefined): void {
    if (refusal) throw new LimitExceeded(refusal.limit, refusal.message, refusal.retryAfterMs);
  }

  /** This month's count of a metric. */
  monthly(accountId: string, metric: MonthlyMetric): number {
    const s = this.state(accountId);
    this.rollMonth(s);
    return s.monthly.get(metric) ?? 0;
  }

  /** Use of each rate right now: tokens taken and not yet refilled. */
  rates(accountId: string): { publishes: number; records: number; http: Partial<Record<HttpClass, number>> } {
    const s = this.state(accountId);
    const now = this.now();
    const http: Partial<Record<HttpClass, number>> = {};
    for (const [cls, bucket] of Object.entries(s.http) as [HttpClass, TokenBucket][]) http[cls] = Math.round(bucket.used(now));
    return { publishes: Math.round(s.publishes?.used(now) ?? 0), records: Math.round(s.records?.used(now) ?? 0), http };
  }

  /**
   * Writes counted usage to the repository; settles when written, or when the write failed
   * (reported to `onError`, the deltas kept for the next flush): it never rejects. While a write
   * is in flight this answers that write; what was counted since goes with the next one.
   */
  flush(): Promise<void> {
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  /** Stops the periodic flush and writes everything counted. */
  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.writing;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const rows = [...this.pending].map(([key, delta]): UsageDelta => {
      const [accountId, period, metric] = key.split("\n") as [string, string, string];
      return { accountId, period, metric, delta };
    });
    this.pending.clear();
    try {
      await this.options.usage.add(rows);
    } catch (error) {
      // Counting must never take the server down: keep the deltas for the next flush.
      for (const r of rows) {
        const key = `${r.accountId}\n${r.period}\n${r.metric}`;
        this.pending.set(key, (this.pending.get(key) ?? 0) + r.delta);
      }
      this.options.onError?.(error);
    }
  }

  private state(accountId: string): AccountState {
    let s = this.accounts.get(accountId);
    if (!s) {
      const plan = this.options.plans.get(this.assigned.get(accountId) ?? this.options.defaultPlan) ?? this.options.plans.get(this.options.defaultPlan)!;
      s = new AccountState(accountId, plan, this.now());
      this.accounts.set(accountId, s);
    }
    return s;
  }

  private takeRate(bucket: TokenBucket, limit: LimitName, what: string, n = 1, now = this.now()): Refusal | undefined {
    if (bucket.take(now, n)) return undefined;
    // More than a whole minute's allowance at once can never pass: say so rather than "retry".
    if (n > bucket.capacity) return { limit, message: `${n} is more than the plan's ${bucket.capacity} ${what}` };
    return { limit, message: `over the plan's ${bucket.capacity} ${what}`, retryAfterMs: bucket.waitMs(now, n) };
  }

  private checkMonthly(s: AccountState, metric: MonthlyMetric, n: number): Refusal | undefined {
    const limit = s.plan[MONTHLY[metric]] as number;
    if (!Number.isFinite(limit)) return undefined;
    this.rollMonth(s);
    const used = s.monthly.get(metric) ?? 0;
    if (used + n <= limit) return undefined;
    return { limit: MONTHLY[metric], message: `the plan's ${limit} ${metric.replace("_", " ")} per month are used up`, retryAfterMs: s.periodEndsAt - this.now() };
  }

  private count(s: AccountState, metric: MonthlyMetric, n: number): void {
    this.rollMonth(s);
    const before = s.monthly.get(metric) ?? 0;
    s.monthly.set(metric, before + n);
    const key = `${s.accountId}\n${s.period}\n${metric}`;
    this.pending.set(key, (this.pending.get(key) ?? 0) + n);
    this.options.onUsage?.({ accountId: s.accountId, metric, before, after: before + n, limit: s.plan[MONTHLY[metric]] as number });
  }

  /** Starts the month's counters when an account is first counted in it: from what `load` read, else from zero. */
  private rollMonth(s: AccountState): void {
    const now = this.now();
    if (now < s.periodEndsAt) return;
    const { period, endsAt } = monthOf(now);
    s.period = period;
    s.periodEndsAt = endsAt;
    const stored = this.loaded?.period === period ? this.loaded.counts.get(s.accountId) : undefined;
    this.loaded?.counts.delete(s.accountId);
    s.monthly = new Map(stored);
  }
}
