import { randomBytes } from "node:crypto";
import type { ClientInfo } from "../mqtt/types.js";
import type { Logger } from "../observability/logger.js";
import { transaction, type Pool } from "../store/postgres/pool.js";
import { HELD_LIVENESS_KEYS, livenessKey, NodeLiveness } from "./liveness.js";

/**
 * Plan connection counts exact across the nodes of a cluster (docs/cluster.md, "Plan limits
 * across nodes"), in the PostgreSQL every node shares:
 *
 * - `cluster_connections`: one row per live device connection, keyed by account and client id
 *   (a client id connecting on another node takes the row over: a takeover does not count twice),
 *   naming the node it is on (`origin`: the node id its liveness lock is named by).
 * - A node is alive while it holds its liveness lock (cluster/liveness.ts): the counts take only
 *   the rows of nodes whose lock is held, so a killed node's connections stop counting as soon as
 *   PostgreSQL sees its lock's connection close, with no timeout of our own. Its rows are deleted
 *   by the next sweep of any node, under the dead node's lock.
 *
 * A CONNECT is admitted by one transaction holding the account's advisory lock: count the
 * account's (and the device's) rows of live nodes, insert its own when under the plan. Two nodes
 * admitting the same account's connections at once therefore queue on the lock, and the count
 * each reads includes the other's.
 */
export interface SharedLimitsOptions {
  pool: Pool;
  /** This node's liveness lock, taken before `start`: its node id names this node's rows. */
  liveness: Pick<NodeLiveness, "node" | "onRegained">;
  /** How often dead nodes' rows are deleted, failed deletes tried again and live nodes counted (`cluster.adoptIntervalMs`). */
  sweepMs: number;
  logger: Logger;
}

export type ConnectionVerdict = "connections" | "connectionsPerDevice" | "unavailable" | undefined;

/** Advisory lock namespace of connection admission (the second key is the account's hash). */
const CONNECTION_LOCK = 0x736c_6301;

/**
 * The distinct nodes named in `cluster_connections`, one index probe per node rather than a scan
 * of every connection (PostgreSQL has no skip scan: this walks the `origin` index by hand).
 */
const NODES_WITH_ROWS = `WITH RECURSIVE nodes AS (
    (SELECT origin FROM cluster_connections ORDER BY origin LIMIT 1)
    UNION ALL
    SELECT (SELECT c.origin FROM cluster_connections c WHERE c.origin > nodes.origin ORDER BY c.origin LIMIT 1)
      FROM nodes WHERE nodes.origin IS NOT NULL
  ) SELECT origin FROM nodes WHERE origin IS NOT NULL`;

interface Claimed {
  accountId: string;
  clientId: string;
  deviceId: string;
  conn: string;
}

export class SharedLimits {
  private readonly node: string;
  private readonly claims = new Map<ClientInfo, Claimed>();
  /** Rows whose DELETE failed (PostgreSQL unreachable): tried again with each sweep. */
  private readonly unreleased: Claimed[] = [];
  /** Rows a node of this id left before this start, or rows to write again, not yet done: tried with each sweep. */
  private predecessorDue = true;
  private rewriteDue = false;
  private timer: NodeJS.Timeout | undefined;
  private ready: Promise<void> | undefined;
  private live = 1;
  private sweeping = false;
  private stopped = false;

  constructor(private readonly options: SharedLimitsOptions) {
    this.node = options.liveness.node;
  }

  /** Live nodes (their liveness lock held) as last counted, at least this one: rate leases size their credit by it. */
  get liveNodes(): number {
    return this.live;
  }

  start(): void {
    this.ready = this.forgetPredecessor();
    this.options.liveness.onRegained(() => {
      this.rewriteDue = true;
      void this.rewrite();
    });
    this.timer = setInterval(() => void this.sweep(), this.options.sweepMs);
    this.timer.unref();
    void this.ready.then(() => this.sweep());
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
        // Grouped by node first: the liveness test runs once per node, not once per connection.
        // This node's own rows count whatever its lock's connection is doing.
        const counts = (await q(
          `SELECT coalesce(sum(n.account), 0)::int AS account, coalesce(sum(n.device), 0)::int AS device
             FROM (SELECT origin, count(*) AS account, count(*) FILTER (WHERE device_id = $3) AS device
                     FROM cluster_connections WHERE account_id = $1 AND client_id <> $2 GROUP BY origin) n
            WHERE n.origin = $4 OR ${livenessKey("n.origin")} IN (${HELD_LIVENESS_KEYS})`,
          [accountId, claim.clientId, deviceId, this.node],
        ))[0] as { account: number; device: number };
        if (counts.account >= maxAccount) return "connections" as const;
        if (counts.device >= maxDevice) return "connectionsPerDevice" as const;
        await q(
          `INSERT INTO cluster_connections (account_id, client_id, device_id, origin, conn) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_id, sluice_text_key(client_id)) DO UPDATE SET device_id = excluded.device_id, origin = excluded.origin, conn = excluded.conn`,
          [accountId, claim.clientId, deviceId, this.node, claim.conn],
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

  /**
   * Rows of this node id that are not this process's: a node killed and started again under its
   * id left them, and they would count as live now that the id's lock is held again. Those of
   * claims made meanwhile stay (this runs again from the sweep when it failed).
   */
  private async forgetPredecessor(): Promise<void> {
    try {
      const mine = [...this.claims.values()].map((c) => c.conn);
      await this.options.pool.query("DELETE FROM cluster_connections WHERE origin = $1 AND NOT (conn = ANY($2::text[]))", [this.node, mine]);
      this.predecessorDue = false;
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: removing connection rows left by an earlier run of this node failed; retrying");
    }
  }

  /**
   * After the liveness lock was lost and taken again (PostgreSQL restarted and emptied the
   * unlogged table, or this node was cut off): other nodes may have deleted this node's rows,
   * so its live connections are written back, those whose client id another node took
   * meanwhile excepted.
   */
  private async rewrite(): Promise<void> {
    const claims = [...this.claims.values()];
    try {
      if (claims.length > 0) {
        await this.options.pool.query(
          `INSERT INTO cluster_connections (account_id, client_id, device_id, origin, conn)
           SELECT a, c, d, $4, k FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) AS t(a, c, d, k)
           ON CONFLICT (account_id, sluice_text_key(client_id)) DO NOTHING`,
          [claims.map((c) => c.accountId), claims.map((c) => c.clientId), claims.map((c) => c.deviceId), this.node, claims.map((c) => c.conn)],
        );
      }
      this.rewriteDue = false;
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: writing this node's connections again failed; retrying");
    }
  }

  /** Tries again what failed, deletes dead nodes' rows, counts the live nodes. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    const { pool } = this.options;
    try {
      if (this.predecessorDue) await this.forgetPredecessor();
      if (this.rewriteDue) await this.rewrite();
      for (const claim of this.unreleased.splice(0)) await this.remove(claim);
      const row = (await pool.query(
        `SELECT (SELECT count(DISTINCT objid)::int FROM (${HELD_LIVENESS_KEYS}) held) AS live,
                ARRAY(SELECT origin FROM (${NODES_WITH_ROWS}) n WHERE origin <> $1 AND ${livenessKey("origin")} NOT IN (${HELD_LIVENESS_KEYS})) AS dead`,
        [this.node],
      )).rows[0] as { live: number; dead: string[] };
      this.live = Math.max(1, row.live);
      // Under the dead node's lock: were it starting again meanwhile, it would wait for this delete
      // before writing its rows again, rather than have them deleted after it wrote them.
      for (const node of row.dead) {
        await transaction(pool, async (c) => {
          if (await NodeLiveness.takeIfDead(c, node)) await c.query("DELETE FROM cluster_connections WHERE origin = $1", [node]);
        });
      }
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: sweeping dead nodes' connections in PostgreSQL failed; retrying");
    } finally {
      this.sweeping = false;
    }
  }

  private transaction<T>(fn: (q: (sql: string, params: unknown[]) => Promise<unknown[]>) => Promise<T>): Promise<T> {
    return transaction(this.options.pool, (client) => fn(async (sql, params) => (await client.query(sql, params)).rows));
  }

  /** Leaves the cluster's counts: this node's rows go now rather than at another node's sweep. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // Only this run's rows, by their conn ids: a node of this id started the moment this one let
    // its liveness lock go owns the id's other rows.
    const conns = [...this.claims.values(), ...this.unreleased].map((c) => c.conn);
    try {
      if (conns.length > 0) await this.options.pool.query("DELETE FROM cluster_connections WHERE origin = $1 AND conn = ANY($2::text[])", [this.node, conns]);
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: removing this node's connection rows failed; they stop counting with its liveness lock");
    }
  }
}
