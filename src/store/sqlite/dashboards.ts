import { storedDashboard, storedWidget, type Dashboard, type DashboardFields, type Widget, type WidgetFields } from "../../dashboards/model.js";
import { writeTransaction, type Db } from "./open.js";

export interface Row {
  id: string;
  body: string;
  created_at: number;
  updated_at: number;
}

/** A dashboard's public link as stored: the key's hash, never the key. */
export interface ShareRow {
  dashboardId: string;
  accountId: string;
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
}

export const toDashboard = (r: Row & { account_id: string }): Dashboard => ({
  ...(JSON.parse(r.body) as DashboardFields),
  id: r.id,
  accountId: r.account_id,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

export const toWidget = (r: Row & { dashboard_id: string }): Widget => ({
  ...(JSON.parse(r.body) as WidgetFields),
  id: r.id,
  dashboardId: r.dashboard_id,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

/**
 * Where dashboards, their widgets and public links are kept (SQLite, PostgreSQL). Every read
 * and write names the account: a dashboard id of another account is not found, whoever asks.
 * The bounds that count rows (dashboards per account, widgets per dashboard) are checked by the
 * insert itself, in its transaction, so two inserts at once cannot both pass them.
 */
export interface DashboardRepository {
  list(accountId: string): Promise<Dashboard[]>;
  count(accountId: string): Promise<number>;
  get(accountId: string, id: string): Promise<Dashboard | undefined>;
  /**
   * Inserts a dashboard with its widgets, in one transaction. `admit` is told how many
   * dashboards the account has, with no other insert for the account in between, and throws
   * to refuse (nothing is written).
   */
  insert(d: Dashboard, widgets?: Widget[], admit?: (existing: number) => void): Promise<void>;
  update(d: Dashboard): Promise<boolean>;
  delete(accountId: string, id: string): Promise<boolean>;
  widgets(accountId: string, dashboardId: string): Promise<Widget[]>;
  widgetCount(dashboardId: string): Promise<number>;
  widget(accountId: string, dashboardId: string, widgetId: string): Promise<Widget | undefined>;
  /**
   * Adds a widget and touches its dashboard; false when the dashboard is not the account's
   * (or no longer exists). `admit` is told the dashboard's widget count, as `insert`'s is.
   */
  insertWidget(accountId: string, w: Widget, admit?: (existing: number) => void): Promise<boolean>;
  updateWidget(w: Widget): Promise<boolean>;
  /** Deletes a widget and, in the same transaction, saves its dashboard (its arrangement without it). */
  deleteWidget(d: Dashboard, widgetId: string): Promise<boolean>;
  share(dashboardId: string): Promise<ShareRow | undefined>;
  shareByHash(keyHash: string): Promise<ShareRow | undefined>;
  /** Sets the dashboard's one public link, replacing any earlier one. */
  putShare(dashboardId: string, keyHash: string, prefix: string, createdAt: Date, expiresAt: Date | null): Promise<void>;
  deleteShare(dashboardId: string): Promise<boolean>;
}

/** Dashboards, their widgets and public links in SQLite (migration 17). */
export class SqliteDashboardRepository implements DashboardRepository {
  private readonly q;

  constructor(private readonly db: Db) {
    this.q = {
      list: db.prepare("SELECT * FROM dashboards WHERE account_id = ? ORDER BY created_at, rowid"),
      count: db.prepare("SELECT count(*) FROM dashboards WHERE account_id = ?").pluck(),
      get: db.prepare("SELECT * FROM dashboards WHERE id = ? AND account_id = ?"),
      insert: db.prepare("INSERT INTO dashboards (id, account_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"),
      update: db.prepare("UPDATE dashboards SET body = ?, updated_at = ? WHERE id = ? AND account_id = ?"),
      delete: db.prepare("DELETE FROM dashboards WHERE id = ? AND account_id = ?"),
      widgets: db.prepare(
        "SELECT w.* FROM dashboard_widgets w JOIN dashboards d ON d.id = w.dashboard_id WHERE w.dashboard_id = ? AND d.account_id = ? ORDER BY w.created_at, w.rowid",
      ),
      widgetCount: db.prepare("SELECT count(*) FROM dashboard_widgets WHERE dashboard_id = ?").pluck(),
      widget: db.prepare(
        "SELECT w.* FROM dashboard_widgets w JOIN dashboards d ON d.id = w.dashboard_id WHERE w.id = ? AND w.dashboard_id = ? AND d.account_id = ?",
      ),
      owned: db.prepare("SELECT 1 FROM dashboards WHERE id = ? AND account_id = ?").pluck(),
      insertWidget: db.prepare("INSERT INTO dashboard_widgets (id, dashboard_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"),
      updateWidget: db.prepare("UPDATE dashboard_widgets SET body = ?, updated_at = ? WHERE id = ? AND dashboard_id = ?"),
      deleteWidget: db.prepare("DELETE FROM dashboard_widgets WHERE id = ? AND dashboard_id = ?"),
      touch: db.prepare("UPDATE dashboards SET updated_at = ? WHERE id = ?"),
      share: db.prepare("SELECT s.*, d.account_id FROM dashboard_shares s JOIN dashboards d ON d.id = s.dashboard_id WHERE s.dashboard_id = ?"),
      shareByHash: db.prepare("SELECT s.*, d.account_id FROM dashboard_shares s JOIN dashboards d ON d.id = s.dashboard_id WHERE s.key_hash = ?"),
      putShare: db.prepare(
        `INSERT INTO dashboard_shares (dashboard_id, key_hash, prefix, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(dashboard_id) DO UPDATE SET key_hash = excluded.key_hash, prefix = excluded.prefix, created_at = excluded.created_at, expires_at = excluded.expires_at`,
      ),
      deleteShare: db.prepare("DELETE FROM dashboard_shares WHERE dashboard_id = ?"),
    };
  }

  async list(accountId: string): Promise<Dashboard[]> {
    return (this.q.list.all(accountId) as (Row & { account_id: string })[]).map(toDashboard);
  }

  async count(accountId: string): Promise<number> {
    return this.q.count.get(accountId) as number;
  }

  async get(accountId: string, id: string): Promise<Dashboard | undefined> {
    const row = this.q.get.get(id, accountId) as (Row & { account_id: string }) | undefined;
    return row && toDashboard(row);
  }

  async insert(d: Dashboard, widgets: Widget[] = [], admit?: (existing: number) => void): Promise<void> {
    writeTransaction(this.db, () => {
      admit?.(this.q.count.get(d.accountId) as number);
      this.q.insert.run(d.id, d.accountId, JSON.stringify(storedDashboard(d)), d.createdAt.getTime(), d.updatedAt.getTime());
      for (const w of widgets) this.q.insertWidget.run(w.id, d.id, JSON.stringify(storedWidget(w)), w.createdAt.getTime(), w.updatedAt.getTime());
    })();
  }

  async update(d: Dashboard): Promise<boolean> {
    return this.updateNow(d);
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return this.q.delete.run(id, accountId).changes > 0;
  }

  async widgets(accountId: string, dashboardId: string): Promise<Widget[]> {
    return (this.q.widgets.all(dashboardId, accountId) as (Row & { dashboard_id: string })[]).map(toWidget);
  }

  async widgetCount(dashboardId: string): Promise<number> {
    return this.q.widgetCount.get(dashboardId) as number;
  }

  async widget(accountId: string, dashboardId: string, widgetId: string): Promise<Widget | undefined> {
    const row = this.q.widget.get(widgetId, dashboardId, accountId) as (Row & { dashboard_id: string }) | undefined;
    return row && toWidget(row);
  }

  async insertWidget(accountId: string, w: Widget, admit?: (existing: number) => void): Promise<boolean> {
    return writeTransaction(this.db, () => {
      if (this.q.owned.get(w.dashboardId, accountId) === undefined) return false;
      admit?.(this.q.widgetCount.get(w.dashboardId) as number);
      this.q.insertWidget.run(w.id, w.dashboardId, JSON.stringify(storedWidget(w)), w.createdAt.getTime(), w.updatedAt.getTime());
      this.q.touch.run(w.updatedAt.getTime(), w.dashboardId);
      return true;
    })();
  }

  async updateWidget(w: Widget): Promise<boolean> {
    return writeTransaction(this.db, () => {
      const changed = this.q.updateWidget.run(JSON.stringify(storedWidget(w)), w.updatedAt.getTime(), w.id, w.dashboardId).changes > 0;
      if (changed) this.q.touch.run(w.updatedAt.getTime(), w.dashboardId);
      return changed;
    })();
  }

  async deleteWidget(d: Dashboard, widgetId: string): Promise<boolean> {
    return writeTransaction(this.db, () => {
      const deleted = this.q.deleteWidget.run(widgetId, d.id).changes > 0;
      if (deleted) this.updateNow(d);
      return deleted;
    })();
  }

  async share(dashboardId: string): Promise<ShareRow | undefined> {
    return toShare(this.q.share.get(dashboardId));
  }

  async shareByHash(keyHash: string): Promise<ShareRow | undefined> {
    return toShare(this.q.shareByHash.get(keyHash));
  }

  async putShare(dashboardId: string, keyHash: string, prefix: string, createdAt: Date, expiresAt: Date | null): Promise<void> {
    this.q.putShare.run(dashboardId, keyHash, prefix, createdAt.getTime(), expiresAt?.getTime() ?? null);
  }

  async deleteShare(dashboardId: string): Promise<boolean> {
    return this.q.deleteShare.run(dashboardId).changes > 0;
  }

  private updateNow(d: Dashboard): boolean {
    return this.q.update.run(JSON.stringify(storedDashboard(d)), d.updatedAt.getTime(), d.id, d.accountId).changes > 0;
  }
}

export function toShare(row: unknown): ShareRow | undefined {
  if (!row) return undefined;
  const r = row as { dashboard_id: string; account_id: string; prefix: string; created_at: number; expires_at: number | null };
  return { dashboardId: r.dashboard_id, accountId: r.account_id, prefix: r.prefix, createdAt: new Date(r.created_at), expiresAt: r.expires_at === null ? null : new Date(r.expires_at) };
}
