import type { MonthlyMetric } from "../../limits/limits.js";
import type { Action, UsageAlertTrigger, UsageService } from "../action_model.js";

/** TagoIO's service name for each monthly counter of a plan. */
export const USAGE_SERVICE_OF: Record<MonthlyMetric, UsageService> = {
  records: "data_records",
  analysis_runs: "analysis",
  notifications: "push_notification",
  emails: "email",
};

/** A change in an account's use of one bounded service. */
export interface UsageStep {
  service: UsageService;
  before: number;
  after: number;
  /** The plan's ceiling; an infinite one has no share to cross. */
  limit: number;
}

/**
 * The active usage_alert actions of which a row's threshold this step crosses: `>` fires when
 * use goes from at-or-below the share to above it, `=` when it reaches it. Use only grows
 * within a month, so each alert fires once per threshold per month (and again after a reset).
 */
export function crossedUsageAlerts(actions: readonly Action[], step: UsageStep): { action: Action; row: UsageAlertTrigger }[] {
  if (!Number.isFinite(step.limit) || step.limit <= 0) return [];
  const before = (step.before / step.limit) * 100;
  const after = (step.after / step.limit) * 100;
  const fired: { action: Action; row: UsageAlertTrigger }[] = [];
  for (const action of actions) {
    if (!action.active || action.type !== "usage_alert") continue;
    const row = (action.trigger as UsageAlertTrigger[]).find(
      (r) => r.service_or_resource === step.service && (r.condition === ">" ? before <= r.condition_value && after > r.condition_value : before < r.condition_value && after >= r.condition_value),
    );
    if (row) fired.push({ action, row });
  }
  return fired;
}
