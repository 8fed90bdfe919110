import { EventEmitter } from "node:events";
import { createHash, randomBytes } from "node:crypto";
import type { DashboardLimits } from "../config/schema.js";
import { parseDate, parseRelativeFuture } from "../data/dates.js";
import { invalid, notFound } from "../errors.js";
import type { DashboardShareJson } from "../http/api_types.js";
import { PrintGrants } from "./print_grants.js";
import { generateId } from "../identity/tokens.js";
import { LimitExceeded } from "../limits/errors.js";
import type { DashboardRepository } from "../store/sqlite/dashboards.js";
import { exportDashboard, parseImport } from "./export.js";
import { string, validateDashboard, validateWidget, type Dashboard, type DashboardBounds, type Widget } from "./model.js";

export interface DashboardServiceDeps {
  repo: DashboardRepository;
  limits: DashboardLimits;
  /** The account's plan on creating one more dashboard, given how many it has; throws to refuse. */
  admitDashboard?(accountId: string, existing: number): void;
}

/** `changed`: a dashboard or one of its widgets was created, edited or deleted (live views re-read it). */
export interface DashboardChange {
  accountId: string;
  dashboardId: string;
  deleted?: boolean;
}

/** Who a public link opens: the dashboard and its account. */
export interface ShareGrant {
  accountId: string;
  dashboardId: string;
  /** The key's hash: what the link's rate limit and stream count are kept by. */
  keyHash: string;
  /** When the key stops working (ms since the epoch), or null for a link that never expires: open streams end then. */
  expiresAt: number | null;
}

/** A public link's key: 32 random bytes, URL-safe base64 (43 characters); stored as its SHA-256. */
function newShareKey(): string {
  return randomBytes(32).toString("base64url");
}

export const shareKeyHash = (key: string): string => createHash("sha256").update(key).digest("hex");

const SHARE_KEY = /^[A-Za-z0-9_-]{43}$/;

/**
 * Dashboards and their widgets (TagoIO's `/dashboard` resource), their export and import, and
 * their public links. Events: `changed` (DashboardChange), `shareRevoked` ({ dashboardId }):
 * a link was replaced or revoked, or its dashboard deleted; streams opened with it must end.
 */
export class DashboardService extends EventEmitter {
  private readonly repo: DashboardRepository;
  readonly bounds: DashboardBounds;
  private readonly prints = new PrintGrants();

  constructor(private readonly deps: DashboardServiceDeps) {
    super();
    this.repo = deps.repo;
    this.bounds = deps.limits;
  }

  // ---- dashboards -----------------------------------------------------------------------------

  async list(accountId: string): Promise<Dashboard[]> {
    return this.repo.list(accountId);
  }

  async get(accountId: string, id: string): Promise<Dashboard> {
    const d = await this.repo.get(accountId, id);
    if (!d) throw notFound("Dashboard");
    return d;
  }

  async create(accountId: string, body: unknown): Promise<Dashboard> {
    const fields = validateDashboard(body, "body", this.bounds);
    const now = new Date();
    const d: Dashboard = { ...fields, id: generateId(), accountId, createdAt: now, updatedAt: now };
    await this.repo.insert(d, [], (existing) => this.admit(accountId, existing));
    this.changed({ accountId, dashboardId: d.id });
    return d;
  }

  async edit(accountId: string, id: string, body: unknown): Promise<Dashboard> {
    const current = await this.get(accountId, id);
    const fields = validateDashboard(body, "body", this.bounds, current);
    const d: Dashboard = { ...current, ...fields, updatedAt: new Date() };
    if (!(await this.repo.update(d))) throw notFound("Dashboard");
    this.changed({ accountId, dashboardId: id });
    return d;
  }

  async delete(accountId: string, id: string): Promise<void> {
    if (!(await this.repo.delete(accountId, id))) throw notFound("Dashboard");
    this.prints.endDashboard(id);
    this.emit("shareRevoked", { dashboardId: id });
    this.changed({ accountId, dashboardId: id, deleted: true });
  }

  /** A copy with its widgets (new ids, the same places); `new_label` (default "<label> (copy)") and `setup` replace the original's. */
  async duplicate(accountId: string, id: string, body: unknown): Promise<Dashboard> {
    const options = (body ?? {}) as { new_label?: unknown; setup?: unknown };
    if (typeof options !== "object" || Array.isArray(options)) throw invalid("body must be an object");
    const source = await this.get(accountId, id);
    const exported = exportDashboard(source, await this.repo.widgets(accountId, id), new Map());
    const label = options.new_label === undefined ? `${source.label} (copy)`.slice(0, 200) : string(options.new_label, "body.new_label", 200, { min: 1 });
    if (options.setup !== undefined) (exported.dashboard as Record<string, unknown>).setup = options.setup;
    return this.importDashboard(accountId, { ...exported, label });
  }

  // ---- export and import ----------------------------------------------------------------------

  async export(accountId: string, id: string, deviceNames: ReadonlyMap<string, string>): Promise<ReturnType<typeof exportDashboard>> {
    return exportDashboard(await this.get(accountId, id), await this.repo.widgets(accountId, id), deviceNames);
  }

  /** Device ids a dashboard's widgets read by id (blueprint slots apart). */
  async deviceOrigins(accountId: string, id: string): Promise<string[]> {
    const d = await this.get(accountId, id);
    const slots = new Set(d.blueprint_devices.map((b) => b.id));
    return [...new Set((await this.repo.widgets(accountId, id)).flatMap((w) => w.data.map((s) => s.origin)).filter((o) => !slots.has(o)))];
  }

  async importDashboard(accountId: string, body: unknown): Promise<Dashboard> {
    const imported = parseImport(body, this.bounds);
    const now = new Date();
    const dashboardId = generateId();
    const widgets: Widget[] = imported.widgets.map((fields) => ({ ...fields, id: generateId(), dashboardId, createdAt: now, updatedAt: now }));
    const arrangement = imported.fields.arrangement.map((item, i) => ({ ...item, widget_id: widgets[imported.refIndex[i]!]!.id }));
    const d: Dashboard = { ...imported.fields, arrangement, id: dashboardId, accountId, createdAt: now, updatedAt: now };
    await this.repo.insert(d, widgets, (existing) => this.admit(accountId, existing));
    this.changed({ accountId, dashboardId });
    return d;
  }

  // ---- widgets --------------------------------------------------------------------------------

  async widgets(accountId: string, dashboardId: string): Promise<Widget[]> {
    await this.get(accountId, dashboardId);
    return this.repo.widgets(accountId, dashboardId);
  }

  async widget(accountId: string, dashboardId: string, widgetId: string): Promise<Widget> {
    const w = await this.repo.widget(accountId, dashboardId, widgetId);
    if (!w) throw notFound("Widget");
    return w;
  }

  async createWidget(accountId: string, dashboardId: string, body: unknown): Promise<Widget> {
    await this.get(accountId, dashboardId);
    const fields = validateWidget(body, "body", this.bounds);
    const now = new Date();
    const w: Widget = { ...fields, id: generateId(), dashboardId, createdAt: now, updatedAt: now };
    const inserted = await this.repo.insertWidget(accountId, w, (count) => {
      if (count >= this.bounds.maxWidgetsPerDashboard) {
        throw new LimitExceeded("dashboards.maxWidgetsPerDashboard", `the dashboard holds ${count} widgets already, the most one may (dashboards.maxWidgetsPerDashboard)`);
      }
    });
    if (!inserted) throw notFound("Dashboard");
    this.changed({ accountId, dashboardId });
    return w;
  }

  async editWidget(accountId: string, dashboardId: string, widgetId: string, body: unknown): Promise<Widget> {
    const current = await this.widget(accountId, dashboardId, widgetId);
    const fields = validateWidget(body, "body", this.bounds, current);
    const w: Widget = { ...current, ...fields, updatedAt: new Date() };
    if (!(await this.repo.updateWidget(w))) throw notFound("Widget");
    this.changed({ accountId, dashboardId });
    return w;
  }

  /** Deletes a widget and its places in the arrangement (TagoIO leaves those to the client; a place naming no widget helps nobody). */
  async deleteWidget(accountId: string, dashboardId: string, widgetId: string): Promise<void> {
    const d = await this.get(accountId, dashboardId);
    const updated: Dashboard = { ...d, arrangement: d.arrangement.filter((a) => a.widget_id !== widgetId), updatedAt: new Date() };
    if (!(await this.repo.deleteWidget(updated, widgetId))) throw notFound("Widget");
    this.changed({ accountId, dashboardId });
  }

  // ---- public links ---------------------------------------------------------------------------

  /**
   * Makes the dashboard's public link, replacing any earlier one (whose streams end). The key is
   * answered this once: only its hash is kept. `expireTime`: "never", a duration ("1 day",
   * "3 months": from now) or a date.
   */
  async share(accountId: string, id: string, expireTime: unknown): Promise<{ token: string; expire_time: string }> {
    await this.get(accountId, id);
    const now = new Date();
    let expiresAt: Date | null = null;
    if (expireTime !== undefined && expireTime !== "never" && expireTime !== "") {
      if (typeof expireTime !== "string") throw invalid('expire_time must be "never", a duration such as "1 day", or a date');
      expiresAt = parseRelativeFuture(expireTime, now) ?? parseDate(expireTime) ?? null;
      if (expiresAt === null) throw invalid('expire_time must be "never", a duration such as "1 day", or a date');
      if (expiresAt.getTime() <= now.getTime()) throw invalid("expire_time must be in the future");
    }
    const key = newShareKey();
    const replaced = (await this.repo.share(id)) !== undefined;
    await this.repo.putShare(id, shareKeyHash(key), key.slice(0, 6), now, expiresAt);
    if (replaced) this.emit("shareRevoked", { dashboardId: id });
    return { token: key, expire_time: expiresAt === null ? "never" : expiresAt.toISOString() };
  }

  /** Revokes the dashboard's public link; its open streams end. */
  async unshare(accountId: string, id: string): Promise<void> {
    await this.get(accountId, id);
    if (!(await this.repo.deleteShare(id))) throw notFound("Public link");
    this.emit("shareRevoked", { dashboardId: id });
  }

  async shareInfo(dashboardId: string): Promise<DashboardShareJson | null> {
    const row = await this.repo.share(dashboardId);
    if (!row) return null;
    return { prefix: row.prefix, created_at: row.createdAt.toISOString(), expire_time: row.expiresAt === null ? "never" : row.expiresAt.toISOString() };
  }

  /**
   * A key that opens the account's dashboard in the share view for one print (a dashboard
   * report), for at most `ttlMs`; not the public link, which stays as the user left it.
   */
  async printKey(accountId: string, id: string, ttlMs: number): Promise<{ key: string; release(): void }> {
    await this.get(accountId, id);
    return this.prints.grant(accountId, id, ttlMs);
  }

  /** The dashboard a public link (or a print key) opens, or undefined when the key is unknown, revoked or expired. */
  async resolveShare(key: string): Promise<ShareGrant | undefined> {
    if (!SHARE_KEY.test(key)) return undefined;
    const print = this.prints.resolve(key);
    if (print !== undefined) return { accountId: print.accountId, dashboardId: print.dashboardId, keyHash: shareKeyHash(key), expiresAt: print.expiresAt };
    const keyHash = shareKeyHash(key);
    const row = await this.repo.shareByHash(keyHash);
    if (!row || (row.expiresAt !== null && row.expiresAt.getTime() <= Date.now())) return undefined;
    return { accountId: row.accountId, dashboardId: row.dashboardId, keyHash, expiresAt: row.expiresAt === null ? null : row.expiresAt.getTime() };
  }

  // ---- plumbing -------------------------------------------------------------------------------

  /** Runs in the insert's transaction: `existing` cannot change before the insert. */
  private admit(accountId: string, existing: number): void {
    if (existing >= this.deps.limits.maxPerAccount) {
      throw new LimitExceeded("dashboards.maxPerAccount", `the account has ${existing} dashboards, the most this server allows (dashboards.maxPerAccount)`);
    }
    this.deps.admitDashboard?.(accountId, existing);
  }

  private changed(change: DashboardChange): void {
    this.emit("changed", change);
  }
}
