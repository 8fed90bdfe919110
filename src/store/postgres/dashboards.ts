import { storedDashboard, storedWidget, type Dashboard, type Widget } from "../../dashboards/model.js";
import { toDashboard, toShare, toWidget, type DashboardRepository, type Row, type ShareRow } from "../sqlite/dashboards.js";
import { all, LockSpace, lockFor, one, transaction, type Pool, type PoolClient } from "./pool.js";

/**
 * Dashboards, their widgets and public links in PostgreSQL (migration 6), as in SQLite. The
 * bounds that count rows hold across nodes: a dashboard insert counts under the account's
 * advisory lock, a widget insert under its dashboard's row lock.
 */
export class PgDashboardRepository implements DashboardRepository {
  constructor(private readonly pool: Pool) {}

  async list(accountId: string): Promise<Dashboard[]> {
    return (await all<Row & { account_id: string }>(this.pool, "SELECT * FROM dashboards WHERE account_id = $1 ORDER BY created_at, rank", [accountId])).map(toDashboard);
  }

  async count(accountId: string): Promise<number> {
    return countOf(this.pool, "SELECT count(*) AS n FROM dashboards WHERE account_id = $1", [accountId]);
  }

  async get(accountId: string, id: string): Promise<Dashboard | undefined> {
    const row = await one<Row & { account_id: string }>(this.pool, "SELECT * FROM dashboards WHERE id = $1 AND account_id = $2", [id, accountId]);
    return row && toDashboard(row);
  }

  async insert(d: Dashboard, widgets: Widget[] = [], admit?: (existing: number) => void): Promise<void> {
    await transaction(this.pool, async (c) => {
      await lockFor(c, LockSpace.dashboards, d.accountId);
      if (admit) admit(await countOf(c, "SELECT count(*) AS n FROM dashboards WHERE account_id = $1", [d.accountId]));
      await c.query("INSERT INTO dashboards (id, account_id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
        [d.id, d.accountId, JSON.stringify(storedDashboard(d)), d.createdAt.getTime(), d.updatedAt.getTime()]);
      // One statement for all widgets, in their order (rank follows the rows' order).
      if (widgets.length > 0) {
        await c.query(
          `INSERT INTO dashboard_widgets (id, dashboard_id, body, created_at, updated_at)
           SELECT id, $1, body, created_at, updated_at FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) WITH ORDINALITY
             AS w(id, body, created_at, updated_at, n) ORDER BY n`,
          [d.id, widgets.map((w) => w.id), widgets.map((w) => JSON.stringify(storedWidget(w))), widgets.map((w) => w.createdAt.getTime()), widgets.map((w) => w.updatedAt.getTime())],
        );
      }
    });
  }

  async update(d: Dashboard): Promise<boolean> {
    return updateDashboard(this.pool, d);
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM dashboards WHERE id = $1 AND account_id = $2", [id, accountId])).rowCount ?? 0) > 0;
  }

  async widgets(accountId: string, dashboardId: string): Promise<Widget[]> {
    const rows = await all<Row & { dashboard_id: string }>(
      this.pool,
      "SELECT w.* FROM dashboard_widgets w JOIN dashboards d ON d.id = w.dashboard_id WHERE w.dashboard_id = $1 AND d.account_id = $2 ORDER BY w.created_at, w.rank",
      [dashboardId, accountId],
    );
    return rows.map(toWidget);
  }

  async widgetCount(dashboardId: string): Promise<number> {
    return countOf(this.pool, "SELECT count(*) AS n FROM dashboard_widgets WHERE dashboard_id = $1", [dashboardId]);
  }

  async widget(accountId: string, dashboardId: string, widgetId: string): Promise<Widget | undefined> {
    const row = await one<Row & { dashboard_id: string }>(
      this.pool,
      "SELECT w.* FROM dashboard_widgets w JOIN dashboards d ON d.id = w.dashboard_id WHERE w.id = $1 AND w.dashboard_id = $2 AND d.account_id = $3",
      [widgetId, dashboardId, accountId],
    );
    return row && toWidget(row);
  }

  async insertWidget(accountId: string, w: Widget, admit?: (existing: number) => void): Promise<boolean> {
    return transaction(this.pool, async (c) => {
      // The dashboard's row lock: widget inserts into one dashboard count one after another.
      const owned = await one(c, "SELECT 1 FROM dashboards WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE", [w.dashboardId, accountId]);
      if (!owned) return false;
      if (admit) admit(await countOf(c, "SELECT count(*) AS n FROM dashboard_widgets WHERE dashboard_id = $1", [w.dashboardId]));
      await c.query("INSERT INTO dashboard_widgets (id, dashboard_id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
        [w.id, w.dashboardId, JSON.stringify(storedWidget(w)), w.createdAt.getTime(), w.updatedAt.getTime()]);
      await c.query("UPDATE dashboards SET updated_at = $1 WHERE id = $2", [w.updatedAt.getTime(), w.dashboardId]);
      return true;
    });
  }

  async updateWidget(w: Widget): Promise<boolean> {
    return transaction(this.pool, async (c) => {
      const changed = ((await c.query("UPDATE dashboard_widgets SET body = $1, updated_at = $2 WHERE id = $3 AND dashboard_id = $4",
        [JSON.stringify(storedWidget(w)), w.updatedAt.getTime(), w.id, w.dashboardId])).rowCount ?? 0) > 0;
      if (changed) await c.query("UPDATE dashboards SET updated_at = $1 WHERE id = $2", [w.updatedAt.getTime(), w.dashboardId]);
      return changed;
    });
  }

  async deleteWidget(d: Dashboard, widgetId: string): Promise<boolean> {
    return transaction(this.pool, async (c) => {
      const deleted = ((await c.query("DELETE FROM dashboard_widgets WHERE id = $1 AND dashboard_id = $2", [widgetId, d.id])).rowCount ?? 0) > 0;
      if (deleted) await updateDashboard(c, d);
      return deleted;
    });
  }

  async share(dashboardId: string): Promise<ShareRow | undefined> {
    return toShare(await one(this.pool, "SELECT s.*, d.account_id FROM dashboard_shares s JOIN dashboards d ON d.id = s.dashboard_id WHERE s.dashboard_id = $1", [dashboardId]));
  }

  async shareByHash(keyHash: string): Promise<ShareRow | undefined> {
    return toShare(await one(this.pool, "SELECT s.*, d.account_id FROM dashboard_shares s JOIN dashboards d ON d.id = s.dashboard_id WHERE s.key_hash = $1", [keyHash]));
  }

  async putShare(dashboardId: string, keyHash: string, prefix: string, createdAt: Date, expiresAt: Date | null): Promise<void> {
    await this.pool.query(
      `INSERT INTO dashboard_shares (dashboard_id, key_hash, prefix, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (dashboard_id) DO UPDATE SET key_hash = excluded.key_hash, prefix = excluded.prefix, created_at = excluded.created_at, expires_at = excluded.expires_at`,
      [dashboardId, keyHash, prefix, createdAt.getTime(), expiresAt?.getTime() ?? null],
    );
  }

  async deleteShare(dashboardId: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM dashboard_shares WHERE dashboard_id = $1", [dashboardId])).rowCount ?? 0) > 0;
  }
}

async function updateDashboard(db: Pool | PoolClient, d: Dashboard): Promise<boolean> {
  const r = await db.query("UPDATE dashboards SET body = $1, updated_at = $2 WHERE id = $3 AND account_id = $4",
    [JSON.stringify(storedDashboard(d)), d.updatedAt.getTime(), d.id, d.accountId]);
  return (r.rowCount ?? 0) > 0;
}

async function countOf(db: Pool | PoolClient, sql: string, params: unknown[]): Promise<number> {
  return (await one<{ n: number }>(db, sql, params))!.n;
}
