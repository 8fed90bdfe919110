import type { Db } from "../../store/sqlite/open.js";
import { writeTransaction } from "../../store/sqlite/open.js";

/** The SDK fields a notification only carries (stored as given, returned as stored). */
export interface NotificationExtra {
  icon?: unknown;
  buttons?: unknown[];
  buttons_enabled?: boolean;
  buttons_autodisable?: boolean;
}

export interface NotificationRow {
  id: string;
  accountId: string;
  title: string;
  message: string;
  read: boolean;
  extra: NotificationExtra;
  createdAt: Date;
}

interface Row {
  id: string;
  account_id: string;
  title: string;
  message: string;
  read: number;
  body: string;
  created_at: number;
}

/** Notifications in SQLite (table from migration 7), bounded per account at insert time. */
export class SqliteNotificationStore {
  private readonly q;
  private readonly insertAndPrune;

  constructor(private readonly db: Db) {
    this.q = {
      insert: db.prepare("INSERT INTO notifications (id, account_id, title, message, read, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      // Everything at or below the seq of the (keep+1)-th newest goes: one walk of the index.
      prune: db.prepare(
        "DELETE FROM notifications WHERE account_id = ? AND seq <= (SELECT seq FROM notifications WHERE account_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      ),
      // Unread first, then newest: the default order of every list.
      list: db.prepare("SELECT * FROM notifications WHERE account_id = ? ORDER BY read ASC, seq DESC"),
      get: db.prepare("SELECT * FROM notifications WHERE account_id = ? AND id = ?"),
      markAll: db.prepare("UPDATE notifications SET read = 1 WHERE account_id = ? AND read = 0"),
      delete: db.prepare("DELETE FROM notifications WHERE account_id = ? AND id = ?"),
    };
    this.insertAndPrune = writeTransaction(db, (row: NotificationRow, keep: number): number => {
      this.q.insert.run(row.id, row.accountId, row.title, row.message, row.read ? 1 : 0, JSON.stringify(row.extra), row.createdAt.getTime());
      return this.q.prune.run(row.accountId, row.accountId, keep).changes;
    });
  }

  /** Stores `row`, then drops the account's oldest past `keep`; returns how many were dropped. */
  insert(row: NotificationRow, keep: number): number {
    return this.insertAndPrune(row, keep);
  }

  /** All of the account's notifications (at most the bound), unread first, then newest. */
  list(accountId: string): NotificationRow[] {
    return (this.q.list.all(accountId) as Row[]).map(toRow);
  }

  get(accountId: string, id: string): NotificationRow | undefined {
    const row = this.q.get.get(accountId, id) as Row | undefined;
    return row ? toRow(row) : undefined;
  }

  /** Sets `read` on those of `ids` the account owns; returns how many exist. */
  setRead(accountId: string, ids: readonly string[], read: boolean): number {
    if (ids.length === 0) return 0;
    const marks = ids.map(() => "?").join(",");
    // A statement per call: the id list's length varies (bounded by the route).
    return this.db.prepare(`UPDATE notifications SET read = ? WHERE account_id = ? AND id IN (${marks})`).run(read ? 1 : 0, accountId, ...ids).changes;
  }

  markAllRead(accountId: string): number {
    return this.q.markAll.run(accountId).changes;
  }

  delete(accountId: string, id: string): boolean {
    return this.q.delete.run(accountId, id).changes > 0;
  }
}

function toRow(r: Row): NotificationRow {
  return {
    id: r.id, accountId: r.account_id, title: r.title, message: r.message, read: r.read === 1,
    extra: JSON.parse(r.body) as NotificationExtra, createdAt: new Date(r.created_at),
  };
}
