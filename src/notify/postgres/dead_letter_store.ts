import { all, LockSpace, lockFor, transaction, type Pool } from "../../store/postgres/pool.js";
import { deadLetterOf, keptBody, type DeadLetter, type DeadLetterRow, type DeadLetterStore } from "../sqlite/dead_letter_store.js";

/**
 * Dead letters in PostgreSQL (migration 6), bounded per account at insert time under the
 * account's advisory lock (several nodes deliver webhooks at once; see PgNotificationStore).
 */
export class PgDeadLetterStore implements DeadLetterStore {
  constructor(private readonly pool: Pool) {}

  async insert(d: DeadLetter, keep: number): Promise<void> {
    await transaction(this.pool, async (c) => {
      await lockFor(c, LockSpace.deadLetters, d.accountId);
      await c.query(
        `INSERT INTO webhook_dead_letters (id, account_id, action_id, device_id, url, status, attempts, error, body, first_attempt_at, failed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [d.id, d.accountId, d.actionId, d.deviceId, d.url, d.status, d.attempts, d.error, keptBody(d.body), d.firstAttemptAt.getTime(), d.failedAt.getTime()],
      );
      await c.query(
        "DELETE FROM webhook_dead_letters WHERE account_id = $1 AND seq <= (SELECT seq FROM webhook_dead_letters WHERE account_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)",
        [d.accountId, keep],
      );
    });
  }

  async list(accountId: string, actionId: string, limit: number, offset: number): Promise<DeadLetter[]> {
    const rows = await all<DeadLetterRow>(this.pool, "SELECT * FROM webhook_dead_letters WHERE account_id = $1 AND action_id = $2 ORDER BY seq DESC LIMIT $3 OFFSET $4", [accountId, actionId, limit, offset]);
    return rows.map(deadLetterOf);
  }

  async clear(accountId: string, actionId: string): Promise<number> {
    return (await this.pool.query("DELETE FROM webhook_dead_letters WHERE account_id = $1 AND action_id = $2", [accountId, actionId])).rowCount ?? 0;
  }

  async remove(accountId: string, actionId: string, id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM webhook_dead_letters WHERE account_id = $1 AND action_id = $2 AND id = $3", [accountId, actionId, id])).rowCount ?? 0) > 0;
  }
}
