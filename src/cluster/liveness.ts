import pg from "pg";
import type { Logger } from "../observability/logger.js";
import type { PoolClient } from "../store/postgres/pool.js";

/**
 * The advisory-lock class of node liveness locks: each lock is (this class, hashtext(node id)),
 * the two-key form, apart from the one-key locks of migrations, partitions and sweeps.
 */
export const LIVENESS_CLASS = 0x534c_4e44;

/**
 * SQL: the keys of the liveness locks held now in this database (`pg_locks.objid` of the
 * two-key form is the second key, `hashtext(node id)`, as an oid). Read without taking any
 * lock, so a query counting live nodes' rows never holds a node back from starting. Whoever holds
 * the key counts: a transaction of `takeIfDead` holding a dead node's key for a moment makes it
 * look alive for that moment, which errs towards counting too much, never too little.
 */
export const HELD_LIVENESS_KEYS = `SELECT objid FROM pg_locks
  WHERE locktype = 'advisory' AND classid = ${LIVENESS_CLASS} AND objsubid = 2 AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/** SQL: the liveness key of the node id `expr` evaluates to, comparable with `HELD_LIVENESS_KEYS`. */
export function livenessKey(expr: string): string {
  return `hashtext(${expr})::oid`;
}

/** Between tries to take this node's lock at start, and to take it back after losing it. */
const RETRY_MS = 250;

export class LivenessError extends Error {
  constructor(readonly code: "node_id_in_use", message: string) {
    super(message);
  }
}

/**
 * That this node is alive, as PostgreSQL sees it: a session-level advisory lock named by the
 * node id, held on a connection of its own for as long as the node runs. PostgreSQL releases it
 * when that connection ends, which a killed process's does at once (its socket is closed by the
 * kernel); a machine that vanishes takes TCP keepalive's time (docs/cluster.md). The one test of
 * a node's life in a cluster: another node finds the lock free, so the node dead, with
 * `takeIfDead` inside the transaction that moves the dead node's sessions
 * (cluster/session_handoff.ts) or deletes its connection rows, and counts only the connections
 * of nodes whose key is in `HELD_LIVENESS_KEYS` (cluster/shared_limits.ts).
 */
export class NodeLiveness {
  private client: pg.Client | undefined;
  private stopped = false;
  private readonly regainedListeners: (() => void)[] = [];
  /** False from losing the lock's connection until it is taken again. */
  held = false;

  constructor(private readonly options: {
    url: string;
    node: string;
    logger: Logger;
    /** How long `start` tries to take the lock (a node of the same id may still be going). */
    waitMs: number;
  }) {}

  /**
   * Takes this node's lock before anything else of the cluster: its persistent sessions and its
   * plan connection counts both hang on it. Throws `node_id_in_use` when a live node holds it.
   */
  static async take(options: ConstructorParameters<typeof NodeLiveness>[0]): Promise<NodeLiveness> {
    const liveness = new NodeLiveness(options);
    await liveness.start();
    return liveness;
  }

  /** The node id the lock is named by. */
  get node(): string {
    return this.options.node;
  }

  /**
   * Told when the lock was lost and taken again: meanwhile other nodes may have taken this
   * node's sessions, and deleted its connection rows.
   */
  onRegained(listener: () => void): void {
    this.regainedListeners.push(listener);
  }

  /** Takes this node's lock, or throws `node_id_in_use` when a live node holds it past `waitMs`. */
  async start(): Promise<void> {
    const deadline = Date.now() + this.options.waitMs;
    while (!(await this.tryTake())) {
      if (Date.now() > deadline) {
        throw new LivenessError("node_id_in_use", `cluster.nodeId ${JSON.stringify(this.options.node)} is held by another live node (its liveness lock in PostgreSQL is taken); give each node its own --node-id`);
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }

  private async tryTake(): Promise<boolean> {
    // Named so `pg_stat_activity` joined with `pg_locks` shows which node holds which lock.
    const client = new pg.Client({ connectionString: this.options.url, keepAlive: true, application_name: `sluice-live:${this.options.node}`.slice(0, 63) });
    client.on("error", () => undefined);
    try {
      await client.connect();
      const ok = (await client.query("SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok", [LIVENESS_CLASS, this.options.node])).rows[0].ok as boolean;
      if (!ok) {
        await client.end().catch(() => undefined);
        return false;
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.held = true;
    client.on("end", () => this.lost(client));
    return true;
  }

  /** The lock's connection ended (PostgreSQL restarted, the network broke): take the lock again. */
  private lost(client: pg.Client): void {
    if (this.stopped || this.client !== client) return;
    this.held = false;
    this.client = undefined;
    this.options.logger.warn({ node: this.options.node }, "cluster: lost the liveness lock's PostgreSQL connection; other nodes may take this node's sessions, and its connections stop counting against plans; taking it again");
    void (async () => {
      while (!this.stopped) {
        try {
          if (await this.tryTake()) {
            this.options.logger.info("cluster: liveness lock taken again");
            for (const listener of this.regainedListeners) listener();
            return;
          }
        } catch {
          // PostgreSQL not back yet.
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    })();
  }

  /**
   * Inside `c`'s transaction: true when `node` holds no liveness lock (it is dead, or never was:
   * null names sessions written by a node without a cluster). The lock is then held by this
   * transaction until it ends, so the node restarting meanwhile waits for it, and two nodes never
   * both find it dead at once.
   */
  static async takeIfDead(c: PoolClient, node: string | null): Promise<boolean> {
    if (node === null) return true;
    return (await c.query("SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS ok", [LIVENESS_CLASS, node])).rows[0].ok as boolean;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    this.held = false;
    await client?.end().catch(() => undefined);
  }
}
