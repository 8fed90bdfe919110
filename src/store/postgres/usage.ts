/**
 * Monthly usage counters per account in PostgreSQL (`account_usage`, migration 7), the same
 * contract as SQLite's (test/limits/usage_store.test.ts).
 *
 * Nodes sharing the database each count in memory (limits/limits.ts) and write what they counted
 * since their last write: a delta added to the stored value, never a total. Two nodes writing the
 * same counter at once both land, in either order: the row's lock orders the two additions.
 */
import type { UsageDelta, UsageRepository } from "../../limits/limits.js";
import { all, type Pool } from "./pool.js";

/**
 * One statement for a flush's deltas, all or none. Rows are added in key order, so two nodes
 * flushing overlapping counters lock the rows in the same order and never deadlock (were one to
 * fail anyway, Limits keeps its deltas for the next flush). Rows of an account deleted meanwhile
 * are dropped: it has nothing to count any more. Within one statement a row may be updated once:
 * equal keys are summed first.
 */
const ADD = `
  INSERT INTO account_usage (account_id, period, metric, value)
  SELECT d.account_id, d.period, d.metric, sum(d.delta)
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS d(account_id, period, metric, delta)
  WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = d.account_id)
  GROUP BY d.account_id, d.period, d.metric
  ORDER BY d.account_id, d.period, d.metric
  ON CONFLICT (account_id, period, metric) DO UPDATE SET value = account_usage.value + EXCLUDED.value`;

export class PgUsageRepository implements UsageRepository {
  constructor(private readonly pool: Pool) {}

  async loadPeriod(period: string): Promise<Map<string, Map<string, number>>> {
    const counts = new Map<string, Map<string, number>>();
    for (const r of await all<{ account_id: string; metric: string; value: number }>(this.pool,
      "SELECT account_id, metric, value FROM account_usage WHERE period = $1", [period])) {
      let account = counts.get(r.account_id);
      if (!account) counts.set(r.account_id, (account = new Map()));
      account.set(r.metric, r.value);
    }
    return counts;
  }

  async add(rows: UsageDelta[]): Promise<void> {
    if (rows.length === 0) return;
    await this.pool.query(ADD, [rows.map((r) => r.accountId), rows.map((r) => r.period), rows.map((r) => r.metric), rows.map((r) => r.delta)]);
  }
}
