import type { Action } from "../../pipeline/action_model.js";
import type { Db } from "./open.js";

export interface ActionRepository {
  all(): Promise<Action[]>;
  put(action: Action): Promise<void>;
  delete(accountId: string, id: string): Promise<boolean>;
}

/** Actions are few and read whole into memory at start, so one JSON column holds each. */
export class SqliteActionRepository implements ActionRepository {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      all: db.prepare("SELECT body FROM actions"),
      put: db.prepare(
        "INSERT INTO actions (id, account_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
      ),
      delete: db.prepare("DELETE FROM actions WHERE id = ? AND account_id = ?"),
    };
  }

  async all(): Promise<Action[]> {
    return (this.q.all.all() as { body: string }[]).map(({ body }) => {
      const a = JSON.parse(body) as Action & { createdAt: string; updatedAt: string; last_triggered: string | null };
      return { ...a, createdAt: new Date(a.createdAt), updatedAt: new Date(a.updatedAt), last_triggered: a.last_triggered ? new Date(a.last_triggered) : null };
    });
  }

  async put(a: Action): Promise<void> {
    this.q.put.run(a.id, a.accountId, JSON.stringify(a), a.createdAt.getTime(), a.updatedAt.getTime());
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return this.q.delete.run(id, accountId).changes > 0;
  }
}
