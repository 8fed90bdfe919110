import type Database from "better-sqlite3";
import type { UsageDelta, UsageRepository } from "../../limits/limits.js";
import { writeTransaction } from "./open.js";

/** Monthly usage counters per account (`period` is `YYYY-MM`, UTC). */
export class SqliteUsageRepository implements UsageRepository {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      loadPeriod: db.prepare("SELECT account_id, metric, value FROM account_usage WHERE period = ?"),
      add: db.prepare(
        "INSERT INTO account_usage (account_id, period, metric, value) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT (account_id, period, metric) DO UPDATE SET value = value + excluded.value",
      ),
      // An account deleted meanwhile has nothing to count any more.
      exists: db.prepare("SELECT 1 FROM accounts WHERE id = ?"),
    };
    this.addMany = writeTransaction(db, (rows: UsageDelta[]) => {
      for (const r of rows) if (this.q.exists.get(r.accountId)) this.q.add.run(r.accountId, r.period, r.metric, r.delta);
    });
  }

  private readonly addMany: (rows: UsageDelta[]) => void;

  async loadPeriod(period: string): Promise<Map<string, Map<string, number>>> {
    const counts = new Map<string, Map<string, number>>();
    for (const r of this.q.loadPeriod.all(period) as { account_id: string; metric: string; value: number }[]) {
      let account = counts.get(r.account_id);
      if (!account) counts.set(r.account_id, (account = new Map()));
      account.set(r.metric, r.value);
    }
    return counts;
  }

  /** Adds the deltas in one transaction. */
  async add(rows: UsageDelta[]): Promise<void> {
    if (rows.length > 0) this.addMany(rows);
  }
}
