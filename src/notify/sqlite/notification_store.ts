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

/**
 * Where notifications are kept (SQLite, PostgreSQL), bounded per account at insert time: the
 * insert and its pruning are one transaction, so the bound holds whoever inserts at once.
 */
export interface NotificationStore {
  /** Stores `row`, then drops the account's oldest past `keep`; returns how many were dropped. */
  insert(row: NotificationRow, keep: number): Promise<number>;
  /** All of the account's notifications (at most the bound), unread first, then newest. */
  list(accountId: string): Promise<NotificationRow[]>;
  get(accountId: string, id: string): Promise<NotificationRow | undefined>;
  /** Sets `read` on those of `ids` the account owns; returns how many exist. */
  setRead(accountId: string, ids: readonly string[], read: boolean): Promise<number>;
  markAllRead(accountId: string): Promise<number>;
  delete(accountId: string, id: string): Promise<boolean>;
}

/** Notifications in SQLite (table from migration 7), bounded per account at insert time. */
export class SqliteNotificationStore implements NotificationStore {
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
  async insert(row: NotificationRow, keep: number): Promise<number> {
    return this.insertAndPrune(row, keep);
  }

  /** All of the account's notifications (at most the bound), unread first, then newest. */
  async list(accountId: string): Promise<NotificationRow[]> {
    return (this.q.list.all(accountId) as Row[]).map(toRow);
  }

  async get(accountId: string, id: string): Promise<NotificationRow | undefined> {
    const row = this.q.get.get(accountId, id) as Row | undefined;
    return row ? toRow(row) : undefined;
  }

  /** Sets `read` on those of `ids` the account owns; returns how many exist. */
  async setRead(accountId: string, ids: readonly string[], read: boolean): Promise<number> {
    if (ids.length === 0) return 0;
    const marks = ids.map(() => "?").join(",");
    // A statement per call: the id list's length varies (bounded by the route).
    return this.db.prepare(`UPDATE notifications SET read = ? WHERE account_id = ? AND id IN (${marks})`).run(read ? 1 : 0, accountId, ...ids).changes;
  }

  async markAllRead(accountId: string): Promise<number> {
    return this.q.markAll.run(accountId).changes;
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return this.q.delete.run(accountId, id).changes > 0;
  }
}

function toRow(r: Row): NotificationRow {
  return {
    id: r.id, accountId: r.account_id, title: r.title, message: r.message, read: r.read === 1,
    extra: JSON.parse(r.body) as NotificationExtra, createdAt: new Date(r.created_at),
  };
}
