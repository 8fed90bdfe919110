/**
 * Work that must happen once cluster-wide (docs/cluster.md, "Once cluster-wide"): timers,
 * report schedules, relays. Each kind is a lease; a node does that kind's work only while it
 * holds the lease, and stops it the moment it stops holding it.
 *
 * With a PostgreSQL store the lease is a session-level advisory lock held on a connection of
 * its own (never the pool's: a pooled connection is handed to other queries and its session
 * outlives our use of it). PostgreSQL releases the lock when that connection ends, which a
 * killed node's kernel does at once; so the other nodes, trying every `retryMs`, take over
 * within about that long. Without a PostgreSQL store every node runs its own singletons, as
 * a single node always did (`LocalLeases`).
 */
import pg from "pg";
import type { Logger } from "../observability/logger.js";

/** The kinds of once-only work, each its own lock (why one lock per kind: docs/cluster.md). */
export const SINGLETON_KINDS = ["timers", "reports", "relays"] as const;
export type SingletonKind = (typeof SINGLETON_KINDS)[number];

/**
 * Advisory lock keys, beside the store's own (`0x736c756963650_1..3`: migrations, partitions,
 * the retention sweep). Fixed forever: two versions of Sluice in one cluster must agree.
 */
const LOCK_KEYS: Record<SingletonKind, bigint> = {
  timers: 0x736c_7569_6365_10n,
  reports: 0x736c_7569_6365_11n,
  relays: 0x736c_7569_6365_12n,
};

/** The advisory lock key of a kind (operators and tests find its holder in `pg_locks`). */
export function leaseKey(kind: SingletonKind): bigint {
  return LOCK_KEYS[kind];
}

export type LeaseListener = (kind: SingletonKind, held: boolean) => void;

/** What the rest of the node sees: whether it holds a kind now, and when that changes. */
export interface Leases {
  held(kind: SingletonKind): boolean;
  /** Told synchronously on every change; a loss is told before anything else happens. */
  onChange(listener: LeaseListener): void;
  start(): void;
  stop(): Promise<void>;
}

/** One node (or nodes without a shared store): every kind is always this node's. */
export class LocalLeases implements Leases {
  held(_kind?: SingletonKind): boolean {
    return true;
  }
  onChange(): void {}
  start(): void {}
  async stop(): Promise<void> {}
}

export interface PgLeasesOptions {
  url: string;
  /** Names the lock's connection in `pg_stat_activity` (`sluice-lease:<nodeId>`), so an operator sees who holds what. */
  nodeId: string;
  /** How often a node tries the locks it does not hold, and checks the connection (config `cluster.leaseRetryMs`). */
  retryMs: number;
  /** A check not answered within this ends the connection and every lease with it (config `cluster.leaseTimeoutMs`). */
  timeoutMs: number;
  logger: Logger;
  kinds?: readonly SingletonKind[];
}

/** Leases as advisory locks on one dedicated PostgreSQL connection. */
export class PgLeases implements Leases {
  private readonly kinds: readonly SingletonKind[];
  private readonly holding = new Set<SingletonKind>();
  private readonly listeners: LeaseListener[] = [];
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private stopped = false;

  constructor(private readonly options: PgLeasesOptions) {
    this.kinds = options.kinds ?? SINGLETON_KINDS;
  }

  held(kind: SingletonKind): boolean {
    return this.holding.has(kind);
  }

  onChange(listener: LeaseListener): void {
    this.listeners.push(listener);
  }

  /** The kinds held now (for metrics and logs). */
  heldKinds(): SingletonKind[] {
    return [...this.holding];
  }

  start(): void {
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.drop("stopping", false);
    // Ending the session releases its locks at once: the next node need not wait for PostgreSQL
    // to notice a dead socket. Bounded: a server that does not answer gets the socket destroyed.
    if (client) {
      const ended = client.end().catch(() => undefined);
      const late = setTimeout(() => destroySocket(client), this.options.timeoutMs);
      await ended;
      clearTimeout(late);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.options.retryMs);
    this.timer.unref();
  }

  /** One round: connect if needed, then try each kind not held (or only check the connection). */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const client = this.client ?? (await this.connect());
      if (!client) return;
      const wanted = this.kinds.filter((k) => !this.holding.has(k));
      // Even holding everything, a query each round: a connection that stopped answering (a
      // partition) must be noticed by this node before PostgreSQL notices it and frees the locks.
      const sql = wanted.length === 0
        ? "SELECT 1"
        : `SELECT ${wanted.map((_, i) => `pg_try_advisory_lock($${i + 1}) AS k${i}`).join(", ")}`;
      const row = (await this.bounded(client, client.query(sql, wanted.map((k) => LOCK_KEYS[k].toString())))).rows[0] as Record<string, boolean>;
      if (client !== this.client) return; // lost meanwhile: what the query said no longer holds
      wanted.forEach((kind, i) => {
        if (row[`k${i}`] !== true) return;
        this.holding.add(kind);
        this.options.logger.info({ kind }, "this node now runs the cluster's singleton");
        this.tell(kind, true);
      });
    } catch (err) {
      this.drop((err as Error).message);
    } finally {
      this.ticking = false;
      this.schedule();
    }
  }

  private async connect(): Promise<pg.Client | undefined> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: `sluice-lease:${this.options.nodeId}`.slice(0, 63),
      connectionTimeoutMillis: this.options.timeoutMs,
      keepAlive: true,
    });
    // An error or the end of the connection is the end of every lock it held.
    client.on("error", (err) => {
      if (this.client === client) this.drop(err.message);
    });
    client.on("end", () => {
      if (this.client === client) this.drop("connection ended");
    });
    try {
      await client.connect();
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, "cannot reach PostgreSQL for the singleton leases; retrying");
      await client.end().catch(() => undefined);
      return undefined;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return undefined;
    }
    this.client = client;
    return client;
  }

  /** A query's answer, or a rejection after `timeoutMs`. */
  private bounded<T>(client: pg.Client, query: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`PostgreSQL did not answer the lease check within ${this.options.timeoutMs} ms`));
        // Whatever the answer later, the session is given up: its locks may already be someone else's.
        if (this.client === client) this.drop("lease check timed out");
      }, this.options.timeoutMs);
      query.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  /** The connection is gone or given up: every held kind stops now, then the socket is closed. */
  private drop(why: string, destroy = true): void {
    const client = this.client;
    this.client = undefined;
    const lost = [...this.holding];
    this.holding.clear();
    // The work stops first; saying so can wait.
    for (const kind of lost) this.tell(kind, false);
    for (const kind of lost) this.options.logger.warn({ kind, why }, "this node stopped running the cluster's singleton");
    // Destroying the socket (not a polite end): the server may not answer, and end() waits for it.
    if (client && destroy) destroySocket(client);
  }

  private tell(kind: SingletonKind, held: boolean): void {
    for (const listener of this.listeners) {
      try {
        listener(kind, held);
      } catch (err) {
        this.options.logger.error({ err, kind, held }, "a singleton's start or stop failed");
      }
    }
  }
}

/** Closes a client's socket without waiting for the server; later errors of it are ignored. */
function destroySocket(client: pg.Client): void {
  client.on("error", () => undefined);
  // node-postgres keeps its socket on an untyped `connection.stream`; end() would wait for an answer.
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
