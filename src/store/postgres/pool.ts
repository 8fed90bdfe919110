/**
 * The connection pool every PostgreSQL repository shares, and the few helpers they need.
 *
 * Times are stored as BIGINT epoch milliseconds, as in SQLite, so rows carry the same numbers
 * through both stores; node-postgres returns BIGINT as a string by default (it may pass 2^53),
 * which no Sluice time or counter does, so this pool reads them as numbers.
 */
import pg from "pg";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, "query"> | Pick<pg.PoolClient, "query">;

/** Connections one node opens at most by default (`postgres.poolSize`). */
export const DEFAULT_POOL_SIZE = 10;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PoolOptions {
  /** Connections at most (default DEFAULT_POOL_SIZE); callers past it wait for one. */
  max?: number;
  /** How long a caller waits for a connection (free in the pool, or new) before failing (default 10 s; `postgres.connectTimeoutMs`). */
  connectionTimeoutMs?: number;
}

export function openPool(url: string, options: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    types,
    application_name: "sluice",
    // TCP keepalive: a server gone without closing the connection (a partition) is noticed by
    // the OS instead of leaving a query waiting on a dead socket for ever.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle connection's error (the server restarted) must not crash the process: the pool
  // drops that client and the next query opens a new one.
  pool.on("error", () => undefined);
  return pool;
}

/** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
export async function transaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The first row of a query, or undefined. */
export async function one<T>(db: Queryable, sql: string, params: unknown[] = []): Promise<T | undefined> {
  const result = await db.query(sql, params);
  return result.rows[0] as T | undefined;
}

export async function all<T>(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query(sql, params)).rows as T[];
}

/**
 * The advisory locks (two-key form: a fixed space per kind of bound, the key's hash) that
 * serialize writers whose bound or count SQLite kept by being the only writer: several nodes
 * write here at once. Held until the transaction ends. Two keys sharing a hash only wait on
 * each other, never miscount.
 */
export const LockSpace = { notifications: 1, deadLetters: 2, dashboards: 3 } as const;

export async function lockFor(client: PoolClient, space: (typeof LockSpace)[keyof typeof LockSpace], key: string): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [space, key]);
}
