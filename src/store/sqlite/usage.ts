import type Database from "better-sqlite3";
import { writeTransaction } from "./open.js";

/** Monthly usage counters per account (`period` is `YYYY-MM`, UTC). */
export class SqliteUsageRepository {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      load: db.prepare("SELECT metric, value FROM account_usage WHERE account_id = ? AND period = ?"),
      add: db.prepare(
        "INSERT INTO account_usage (account_id, period, metric, value) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT (account_id, period, metric) DO UPDATE SET value = value + excluded.value",
      ),
      // An account deleted meanwhile has nothing to count any more.
      exists: db.prepare("SELECT 1 FROM accounts WHERE id = ?"),
    };
    this.addMany = writeTransaction(db, (rows: { accountId: string; period: string; metric: string; delta: number }[]) => {
      for (const r of rows) if (this.q.exists.get(r.accountId)) this.q.add.run(r.accountId, r.period, r.metric, r.delta);
    });
  }

  private readonly addMany: (rows: { accountId: string; period: string; metric: string; delta: number }[]) => void;

  load(accountId: string, period: string): Map<string, number> {
    const rows = this.q.load.all(accountId, period) as { metric: string; value: number }[];
    return new Map(rows.map((r) => [r.metric, r.value]));
  }

  /** Adds the deltas in one transaction. */
  add(rows: { accountId: string; period: string; metric: string; delta: number }[]): void {
    if (rows.length > 0) this.addMany(rows);
  }
}
