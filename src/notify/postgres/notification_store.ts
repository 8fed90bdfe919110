import { all, LockSpace, lockFor, one, transaction, type Pool } from "../../store/postgres/pool.js";
import type { NotificationExtra, NotificationRow, NotificationStore } from "../sqlite/notification_store.js";

interface Row {
  id: string;
  account_id: string;
  title: string;
  message: string;
  read: boolean;
  body: string;
  created_at: number;
}

/**
 * Notifications in PostgreSQL (migration 6), bounded per account at insert time. Several nodes
 * insert at once: the insert and its pruning hold the account's advisory lock, so two inserts
 * cannot each prune before seeing the other's row and leave the account past its bound.
 */
export class PgNotificationStore implements NotificationStore {
  constructor(private readonly pool: Pool) {}

  async insert(row: NotificationRow, keep: number): Promise<number> {
    return transaction(this.pool, async (c) => {
      await lockFor(c, LockSpace.notifications, row.accountId);
      await c.query(
        "INSERT INTO notifications (id, account_id, title, message, read, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [row.id, row.accountId, row.title, row.message, row.read, JSON.stringify(row.extra), row.createdAt.getTime()],
      );
      // Everything at or below the seq of the (keep+1)-th newest goes: one walk of the index.
      const pruned = await c.query(
        "DELETE FROM notifications WHERE account_id = $1 AND seq <= (SELECT seq FROM notifications WHERE account_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)",
        [row.accountId, keep],
      );
      return pruned.rowCount ?? 0;
    });
  }

  /** Unread first, then newest: the default order of every list. */
  async list(accountId: string): Promise<NotificationRow[]> {
    return (await all<Row>(this.pool, "SELECT * FROM notifications WHERE account_id = $1 ORDER BY read ASC, seq DESC", [accountId])).map(toRow);
  }

  async get(accountId: string, id: string): Promise<NotificationRow | undefined> {
    const row = await one<Row>(this.pool, "SELECT * FROM notifications WHERE account_id = $1 AND id = $2", [accountId, id]);
    return row ? toRow(row) : undefined;
  }

  async setRead(accountId: string, ids: readonly string[], read: boolean): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.pool.query("UPDATE notifications SET read = $1 WHERE account_id = $2 AND id = ANY($3::text[])", [read, accountId, [...ids]]);
    return r.rowCount ?? 0;
  }

  async markAllRead(accountId: string): Promise<number> {
    return (await this.pool.query("UPDATE notifications SET read = true WHERE account_id = $1 AND read = false", [accountId])).rowCount ?? 0;
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM notifications WHERE account_id = $1 AND id = $2", [accountId, id])).rowCount ?? 0) > 0;
  }
}

function toRow(r: Row): NotificationRow {
  return {
    id: r.id, accountId: r.account_id, title: r.title, message: r.message, read: r.read,
    extra: JSON.parse(r.body) as NotificationExtra, createdAt: new Date(r.created_at),
  };
}
