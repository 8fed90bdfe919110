import type { Action } from "../../pipeline/action_model.js";
import type { ActionRepository } from "../sqlite/actions.js";
import { all, type Pool } from "./pool.js";

/** Actions in PostgreSQL (migration 5), one JSON text each, as in SQLite. */
export class PgActionRepository implements ActionRepository {
  constructor(private readonly pool: Pool) {}

  async all(): Promise<Action[]> {
    return (await all<{ body: string }>(this.pool, "SELECT body FROM actions ORDER BY created_at, id")).map(({ body }) => {
      const a = JSON.parse(body) as Action & { createdAt: string; updatedAt: string; last_triggered: string | null };
      return { ...a, createdAt: new Date(a.createdAt), updatedAt: new Date(a.updatedAt), last_triggered: a.last_triggered ? new Date(a.last_triggered) : null };
    });
  }

  async put(a: Action): Promise<void> {
    await this.pool.query(
      `INSERT INTO actions (id, account_id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
      [a.id, a.accountId, JSON.stringify(a), a.createdAt.getTime(), a.updatedAt.getTime()],
    );
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM actions WHERE id = $1 AND account_id = $2", [id, accountId])).rowCount ?? 0) > 0;
  }
}
