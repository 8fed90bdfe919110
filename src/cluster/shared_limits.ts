import { randomBytes } from "node:crypto";
import type { ClientInfo } from "../mqtt/types.js";
import type { Logger } from "../observability/logger.js";
import { transaction, type Pool } from "../store/postgres/pool.js";

/**
 * Plan connection counts exact across the nodes of a cluster (docs/cluster.md, "Plan limits
 * across nodes"), in the PostgreSQL every node shares:
 *
 * - `cluster_nodes`: one row per live node, its `seen_at` written every `heartbeatMs`. A node not
 *   seen for `nodeTimeoutMs` is dead: its rows go (swept by whichever node beats next), and its
 *   connections stop counting at once (counts join on live nodes).
 * - `cluster_connections`: one row per live device connection, keyed by account and client id
 *   (a client id connecting on another node takes the row over: a takeover does not count twice).
 *   A CONNECT is admitted by one transaction holding the account's advisory lock: count the
 *   account's (and the device's) rows of live nodes, insert its own when under the plan. Two nodes
 *   admitting the same account's connections at once therefore queue on the lock, and the count
 *   each reads includes the other's.
 *
 * Times are PostgreSQL's clock (`statement_timestamp()`), so the nodes' clocks never disagree.
 */
export interface SharedLimitsOptions {
  pool: Pool;
  /** This node's name (`cluster.nodeId`); a nonce per start is added. */
  nodeId: string;
  heartbeatMs: number;
  nodeTimeoutMs: number;
  logger: Logger;
}

export type ConnectionVerdict = "connections" | "connectionsPerDevice" | "unavailable" | undefined;

const NOW_MS = "(extract(epoch from statement_timestamp()) * 1000)::bigint";
/** Advisory lock namespace of connection admission (the second key is the account's hash). */
const CONNECTION_LOCK = 0x736c_6301;

interface Claimed {
  accountId: string;
  clientId: string;
  deviceId: string;
  conn: string;
}

export class SharedLimits {
  readonly origin: string;
  private readonly claims = new Map<ClientInfo, Claimed>();
  /** Rows whose DELETE failed (PostgreSQL unreachable): tried again with each beat. */
  private readonly unreleased: Claimed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ready: Promise<void> | undefined;
  private live = 1;
  private beating = false;
  private stopped = false;

  constructor(private readonly options: SharedLimitsOptions) {
    this.origin = `${options.nodeId}/${randomBytes(4).toString("hex")}`;
  }

  /** Live nodes as last counted (at least this one): rate leases size their credit by it. */
  get liveNodes(): number {
    return this.live;
  }

  start(): void {
    this.ready = this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Admits one device connection against the account's and the device's bounds, cluster-wide;
   * undefined when admitted (`release` when it ends). Never throws: PostgreSQL unreachable is
   * "unavailable" (the client gets CONNACK 0x88 and tries again).
   */
  async claim(client: ClientInfo, accountId: string, deviceId: string, maxAccount: number, maxDevice: number): Promise<ConnectionVerdict> {
    const claim: Claimed = { accountId, clientId: client.clientId, deviceId, conn: randomBytes(8).toString("hex") };
    try {
      await this.ready;
      const verdict = await this.transaction(async (q) => {
        await q("SELECT pg_advisory_xact_lock($1, hashtext($2))", [CONNECTION_LOCK, accountId]);
        const counts = (await q(
          `SELECT count(*)::int AS account, count(*) FILTER (WHERE c.device_id = $3)::int AS device
             FROM cluster_connections c JOIN cluster_nodes n ON n.origin = c.origin
            WHERE c.account_id = $1 AND c.client_id <> $2 AND n.seen_at >= ${NOW_MS} - $4`,
          [accountId, claim.clientId, deviceId, this.options.nodeTimeoutMs],
        ))[0] as { account: number; device: number };
        if (counts.account >= maxAccount) return "connections" as const;
        if (counts.device >= maxDevice) return "connectionsPerDevice" as const;
        await q(
          `INSERT INTO cluster_connections (account_id, client_id, device_id, origin, conn) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_id, sluice_text_key(client_id)) DO UPDATE SET device_id = excluded.device_id, origin = excluded.origin, conn = excluded.conn`,
          [accountId, claim.clientId, deviceId, this.origin, claim.conn],
        );
        return undefined;
      });
      if (verdict === undefined) this.claims.set(client, claim);
      return verdict;
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: counting the account's connections in PostgreSQL failed; refusing the connection");
      return "unavailable";
    }
  }

  /** A connection admitted by `claim` ended (or never opened). */
  release(client: ClientInfo): void {
    const claim = this.claims.get(client);
    if (!claim) return;
    this.claims.delete(client);
    void this.remove(claim);
  }

  private async remove(claim: Claimed): Promise<void> {
    try {
      // The conn id: a takeover on another node owns the row now, and its row must stay.
      await this.options.pool.query("DELETE FROM cluster_connections WHERE account_id = $1 AND client_id = $2 AND conn = $3", [claim.accountId, claim.clientId, claim.conn]);
    } catch {
      if (!this.stopped) this.unreleased.push(claim);
    }
  }

  /** Marks this node alive, forgets dead nodes and their connections, counts the live ones. */
  private async beat(): Promise<void> {
    if (this.beating || this.stopped) return;
    this.beating = true;
    const { pool, nodeTimeoutMs } = this.options;
    try {
      const seen = await pool.query(`UPDATE cluster_nodes SET seen_at = ${NOW_MS} WHERE origin = $1`, [this.origin]);
      if (seen.rowCount === 0) await this.register();
      for (const claim of this.unreleased.splice(0)) await this.remove(claim);
      await pool.query(
        `WITH dead AS (DELETE FROM cluster_nodes WHERE seen_at < ${NOW_MS} - $1 RETURNING origin)
         DELETE FROM cluster_connections WHERE origin IN (SELECT origin FROM dead)`,
        [nodeTimeoutMs],
      );
      const live = await pool.query(`SELECT count(*)::int AS n FROM cluster_nodes WHERE seen_at >= ${NOW_MS} - $1`, [nodeTimeoutMs]);
      this.live = Math.max(1, (live.rows[0] as { n: number }).n);
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: the liveness beat to PostgreSQL failed; retrying");
    } finally {
      this.beating = false;
    }
  }

  /**
   * This node's liveness row, new, or again after it was swept (PostgreSQL restarted, or this
   * node was cut off longer than `nodeTimeoutMs`): its live connections are written back, those
   * whose client id another node took meanwhile excepted.
   */
  private async register(): Promise<void> {
    const claims = [...this.claims.values()];
    await this.transaction(async (q) => {
      await q(`INSERT INTO cluster_nodes (origin, seen_at) VALUES ($1, ${NOW_MS}) ON CONFLICT (origin) DO UPDATE SET seen_at = excluded.seen_at`, [this.origin]);
      if (claims.length === 0) return;
      await q(
        `INSERT INTO cluster_connections (account_id, client_id, device_id, origin, conn)
         SELECT a, c, d, $4, k FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) AS t(a, c, d, k)
         ON CONFLICT (account_id, sluice_text_key(client_id)) DO NOTHING`,
        [claims.map((c) => c.accountId), claims.map((c) => c.clientId), claims.map((c) => c.deviceId), this.origin, claims.map((c) => c.conn)],
      );
    });
  }

  private transaction<T>(fn: (q: (sql: string, params: unknown[]) => Promise<unknown[]>) => Promise<T>): Promise<T> {
    return transaction(this.options.pool, (client) => fn(async (sql, params) => (await client.query(sql, params)).rows));
  }

  /** Leaves the cluster's counts: this node's rows go now rather than after `nodeTimeoutMs`. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    try {
      await this.options.pool.query("DELETE FROM cluster_connections WHERE origin = $1", [this.origin]);
      await this.options.pool.query("DELETE FROM cluster_nodes WHERE origin = $1", [this.origin]);
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: removing this node's live rows failed; they go when its liveness times out");
    }
  }
}
