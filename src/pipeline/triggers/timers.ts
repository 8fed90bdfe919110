import { CronExpressionParser } from "cron-parser";
import type { Logger } from "../../observability/logger.js";
import { intervalMs, type Action, type IntervalTrigger, type ScheduleTrigger } from "../action_model.js";

/**
 * Runs `interval` and `schedule` actions on time: one timer per action, rebuilt whenever the
 * account's actions change. Schedules follow their cron expression in their timezone.
 */
export class TimerTriggers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** When each armed action was last edited: an unchanged one keeps its running timer. */
  private readonly armedVersion = new Map<string, number>();

  constructor(
    private readonly run: (action: Action) => void,
    private readonly logger: Logger,
  ) {}

  /** Replaces the timers of `accountId` (or of all given actions' accounts) with those of `actions`. */
  sync(actions: readonly Action[]): void {
    const wanted = new Set(actions.filter((a) => a.active && (a.type === "interval" || a.type === "schedule")).map((a) => a.id));
    for (const [id, timer] of this.timers) {
      if (!wanted.has(id)) {
        clearTimeout(timer);
        this.timers.delete(id);
        this.armedVersion.delete(id);
      }
    }
    for (const a of actions) {
      if (!wanted.has(a.id) || this.armedVersion.get(a.id) === a.updatedAt.getTime()) continue;
      clearTimeout(this.timers.get(a.id));
      this.armedVersion.set(a.id, a.updatedAt.getTime());
      this.arm(a);
    }
  }

  private arm(action: Action): void {
    const delay = this.nextDelay(action);
    if (delay === undefined) return;
    // Timers beyond ~24.8 days overflow setTimeout; re-arm in steps instead.
    const step = Math.min(delay, 2 ** 31 - 1);
    const timer = setTimeout(() => {
      if (step === delay) this.run(action);
      this.arm(action);
    }, step);
    timer.unref();
    this.timers.set(action.id, timer);
  }

  private nextDelay(action: Action): number | undefined {
    if (action.type === "interval") return intervalMs((action.trigger[0] as IntervalTrigger).interval);
    const row = action.trigger[0] as ScheduleTrigger;
    try {
      const next = CronExpressionParser.parse(row.cron, { tz: row.timezone, currentDate: new Date() }).next();
      return Math.max(0, next.getTime() - Date.now());
    } catch (err) {
      this.logger.warn({ action: action.id, cron: row.cron, err: (err as Error).message }, "invalid schedule, action not armed");
      return undefined;
    }
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.armedVersion.clear();
  }
}
