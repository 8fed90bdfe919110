import type { UsageLineJson, UsageReportJson } from "../http/api_types.js";
import type { IdentityService } from "../identity/service.js";
import { monthOf } from "./month.js";
import { MONTHLY, type Limits, type MonthlyMetric } from "./limits.js";
import { planJson, type Plan } from "./plans.js";

/** Counts the broker holds for an account now. */
export interface BrokerUsage {
  connections: number;
  subscriptions: number;
}

export interface UsageDeps {
  limits: Limits;
  identity: IdentityService;
  broker(accountId: string): BrokerUsage;
}

/** One limit's consumption; `limit` null means none. */
export type UsageLine = UsageLineJson;
export type UsageReport = UsageReportJson;

const line = (used: number, limit: number): UsageLine => ({ used, limit: Number.isFinite(limit) ? limit : null });

/**
 * `GET /account/usage`: what the account uses against each limit of its plan. Counts (devices,
 * connections, subscriptions) are the current ones; rates are what the last minute's window
 * holds; monthly quotas are this calendar month's (UTC) totals.
 */
export async function usageReport(deps: UsageDeps, accountId: string): Promise<UsageReport> {
  const plan: Plan = deps.limits.planOf(accountId);
  const rates = deps.limits.rates(accountId);
  const broker = deps.broker(accountId);
  const monthly = (metric: MonthlyMetric) => line(deps.limits.monthly(accountId, metric), plan[MONTHLY[metric]] as number);
  return {
    plan: plan.name,
    period: monthOf(Date.now()).period,
    limits: planJson(plan),
    usage: {
      devices: line(await deps.identity.countDevices(accountId), plan.devices),
      connections: line(broker.connections, plan.connections),
      subscriptions: line(broker.subscriptions, plan.subscriptions),
      publishesPerMinute: line(rates.publishes, plan.publishesPerMinute),
      recordsPerMinute: line(rates.records, plan.recordsPerMinute),
      recordsPerMonth: monthly("records"),
      analysisRunsPerMonth: monthly("analysis_runs"),
      notificationsPerMonth: monthly("notifications"),
      emailsPerMonth: monthly("emails"),
      http: {
        data: line(rates.http.data ?? 0, plan.http.data),
        dataEdits: line(rates.http.dataEdits ?? 0, plan.http.dataEdits),
        aggregate: line(rates.http.aggregate ?? 0, plan.http.aggregate),
        deviceCreates: line(rates.http.deviceCreates ?? 0, plan.http.deviceCreates),
      },
    },
  };
}

/**
 * The same, in the shape of TagoIO's profile summary (`Resources.profiles.summary`), for tools
 * written against it: `limit` and `limit_used` by TagoIO's service names, `amount` of resources.
 */
export async function profileSummary(deps: UsageDeps, accountId: string): Promise<unknown> {
  const report = await usageReport(deps, accountId);
  const u = report.usage;
  const limitOf = (l: UsageLine) => l.limit ?? 0;
  return {
    limit: {
      input: limitOf(u.publishesPerMinute),
      data_records: limitOf(u.recordsPerMonth),
      analysis: limitOf(u.analysisRunsPerMonth),
      push_notification: limitOf(u.notificationsPerMonth),
      email: limitOf(u.emailsPerMonth),
    },
    amount: { device: u.devices.used },
    limit_used: {
      input: u.publishesPerMinute.used,
      data_records: u.recordsPerMonth.used,
      analysis: u.analysisRunsPerMonth.used,
      push_notification: u.notificationsPerMonth.used,
      email: u.emailsPerMonth.used,
    },
  };
}
