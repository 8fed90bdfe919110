/**
 * Keys that open a dashboard's share view for one print (a dashboard report): made when the
 * report runs, ended when its PDF is made or after `ttlMs`, never stored. A report therefore
 * never touches the dashboard's public link (one per dashboard, the user's to give or revoke),
 * and a key read from a report's PDF request or a log is dead within minutes.
 */
import { randomBytes } from "node:crypto";

export interface PrintGrant {
  accountId: string;
  dashboardId: string;
  expiresAt: number;
}

/** Live keys at once; prints are bounded by `reports.concurrency`, so this is only a backstop. */
const MAX_LIVE = 256;

export class PrintGrants {
  /** By the key itself: these live in memory only, so there is no stored hash to protect. */
  private readonly live = new Map<string, PrintGrant>();

  grant(accountId: string, dashboardId: string, ttlMs: number): { key: string; release(): void } {
    this.sweep();
    if (this.live.size >= MAX_LIVE) throw new Error("too many dashboard prints at once");
    const key = randomBytes(32).toString("base64url");
    this.live.set(key, { accountId, dashboardId, expiresAt: Date.now() + ttlMs });
    return { key, release: () => void this.live.delete(key) };
  }

  resolve(key: string): PrintGrant | undefined {
    const grant = this.live.get(key);
    if (grant === undefined) return undefined;
    if (grant.expiresAt <= Date.now()) {
      this.live.delete(key);
      return undefined;
    }
    return grant;
  }

  /** Ends every key of a dashboard (it was deleted). */
  endDashboard(dashboardId: string): void {
    for (const [key, grant] of this.live) if (grant.dashboardId === dashboardId) this.live.delete(key);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, grant] of this.live) if (grant.expiresAt <= now) this.live.delete(key);
  }
}
