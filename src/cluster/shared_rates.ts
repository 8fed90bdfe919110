import type { RateGate } from "../limits/limits.js";
import type { Logger } from "../observability/logger.js";
import type { Pool } from "../store/postgres/pool.js";

/**
 * Plan rates (publishes, records, HTTP requests per minute) shared by the nodes of a cluster
 * (docs/cluster.md, "Plan limits across nodes"). Each account's rate is one token bucket in
 * PostgreSQL (`plan_rate_buckets`: tokens, refilled by PostgreSQL's clock at the plan's rate).
 * A node leases tokens from it in chunks, one statement per lease, and spends them in memory,
 * so the hot path (`take`) stays a subtraction. Leased tokens have left the shared bucket, so
 * nodes never spend the same token twice.
 *
 * What a node may spend without a lease (its first message after a quiet spell, while the
 * lease is on its way) is its credit: `creditPercent` of the rate, divided among the live nodes,
 * or one request whatever its size when the node owes nothing (a batch of records). That credit
 * is the only overshoot: at most `creditPercent` of the rate cluster-wide (plus one request per
 * node) each time the nodes start from an empty pocket; the debt is paid from the next lease. Tokens a node leased and did not spend go back to
 * the bucket when it has been quiet for `idleMs`.
 */
export interface SharedRatesOptions {
  pool: Pool;
  /** Percent of a rate all nodes together may spend ahead of their leases. */
  creditPercent: number;
  /** Live nodes now (`SharedLimits.liveNodes`). */
  liveNodes: () => number;
  logger: Logger;
  /** A quiet pocket's tokens go back after this long. */
  idleMs?: number;
  /** A lease refused for want of tokens is asked again after this long at the earliest. */
  retryMs?: number;
}

const NOW_MS = "(extract(epoch from statement_timestamp()) * 1000)::bigint";
/** Tokens available: the stored ones, refilled since `updated_at` at capacity per minute, plus what is given back, at most the capacity. */
const AVAILABLE = `LEAST($3::float8, b.tokens + GREATEST(0, ${NOW_MS} - b.updated_at) * $3::float8 / 60000.0 + $5::float8)`;
const LEASE_SQL = `
  INSERT INTO plan_rate_buckets AS b (account_id, metric, tokens, updated_at, granted)
  VALUES ($1, $2, $3::float8 - LEAST($4::float8, $3::float8), ${NOW_MS}, LEAST($4::float8, $3::float8))
  ON CONFLICT (account_id, metric) DO UPDATE SET
    tokens = ${AVAILABLE} - LEAST($4::float8, GREATEST(0, ${AVAILABLE})),
    granted = LEAST($4::float8, GREATEST(0, ${AVAILABLE})),
    updated_at = GREATEST(b.updated_at, ${NOW_MS})
  RETURNING granted, tokens`;

export class SharedRates {
  private readonly gates = new Map<string, LeasedRate>();
  private readonly timer: NodeJS.Timeout;
  readonly idleMs: number;
  readonly retryMs: number;

  constructor(readonly options: SharedRatesOptions) {
    this.idleMs = options.idleMs ?? 2000;
    this.retryMs = options.retryMs ?? 100;
    this.timer = setInterval(() => this.giveBackIdle(), this.idleMs);
    this.timer.unref();
  }

  /** The `Limits` gate factory: one gate per account and metric, kept across plan changes (its pocket too). */
  readonly gate = (accountId: string, metric: string, capacity: number): RateGate => {
    const key = `${accountId}\n${metric}`;
    let gate = this.gates.get(key);
    if (!gate || gate.capacity !== capacity) {
      gate = new LeasedRate(this, accountId, metric, capacity);
      this.gates.set(key, gate);
    }
    return gate;
  };

  /** Leases up to `want` tokens (giving `giveBack` back first); the grant and the tokens left. */
  async lease(accountId: string, metric: string, capacity: number, want: number, giveBack: number): Promise<{ granted: number; left: number }> {
    const row = (await this.options.pool.query(LEASE_SQL, [accountId, metric, capacity, want, giveBack])).rows[0] as { granted: number; tokens: number };
    return { granted: row.granted, left: row.tokens };
  }

  private giveBackIdle(): void {
    const now = Date.now();
    for (const gate of this.gates.values()) gate.giveBackIfIdle(now);
  }

  /** Gives every pocket back (the node is stopping). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.gates.values()].map((g) => g.giveBackIfIdle(Number.POSITIVE_INFINITY)));
  }
}

/** One account's rate on this node: a pocket of leased tokens. */
class LeasedRate implements RateGate {
  /** Leased and not spent; below 0 while spending on credit. */
  private pocket = 0;
  private leasing = false;
  /** The last lease got less than it asked: the shared bucket is dry, no more credit until one is granted whole. */
  private dry = false;
  private nextLeaseAt = 0;
  private lastTakeAt = 0;
  /** Spent since the last lease: the next one asks for about as much. */
  private spent = 0;
  /** Tokens the shared bucket held after the last lease (for `used`). */
  private left: number;

  constructor(private readonly owner: SharedRates, private readonly accountId: string, private readonly metric: string, readonly capacity: number) {
    this.left = capacity;
  }

  take(now: number, n = 1): boolean {
    if (n > this.capacity) return false;
    this.lastTakeAt = now;
    if (this.pocket >= n) {
      this.pocket -= n;
      this.spent += n;
      // Ahead of need: the next lease is asked while half of this one is left.
      if (this.pocket < this.chunk() / 2) this.lease(now);
      return true;
    }
    // On credit: within this node's share of it, or one request of any size from a pocket in no
    // debt (a batch of records larger than the credit must not be refused for good).
    const credit = (this.capacity * this.owner.options.creditPercent) / 100 / Math.max(1, this.owner.options.liveNodes());
    if (!this.dry && (this.pocket - n >= -credit || this.pocket >= 0)) {
      this.pocket -= n;
      this.spent += n;
      this.lease(now);
      return true;
    }
    this.lease(now, n);
    return false;
  }

  waitMs(_now: number, n = 1): number {
    if (this.pocket >= n) return 0;
    return Math.ceil((n - this.pocket) / (this.capacity / 60_000));
  }

  used(_now: number): number {
    return Math.max(0, Math.min(this.capacity, this.capacity - this.left - Math.max(0, this.pocket)));
  }

  /** What one lease asks for beyond the debt: 2 % of the rate at least, else what was spent since the last one, at most a quarter. */
  private chunk(): number {
    return Math.min(this.capacity / 4, Math.max(this.capacity / 50, 1, this.spent));
  }

  /** `need`: a request refused now, which the lease should cover. */
  private lease(now: number, need = 0): void {
    if (this.leasing || now < this.nextLeaseAt) return;
    this.leasing = true;
    const want = Math.max(this.chunk(), need) + Math.max(0, -this.pocket);
    this.spent = 0;
    this.owner.lease(this.accountId, this.metric, this.capacity, want, 0).then(
      ({ granted, left }) => {
        this.pocket += granted;
        this.left = left;
        this.dry = granted < want;
        if (this.dry) this.nextLeaseAt = Date.now() + this.owner.retryMs;
      },
      (err: unknown) => {
        // PostgreSQL unreachable: no credit until it answers, asked again after a pause.
        this.dry = true;
        this.nextLeaseAt = Date.now() + this.owner.retryMs * 10;
        this.owner.options.logger.warn({ err, metric: this.metric }, "cluster: leasing plan rate tokens from PostgreSQL failed");
      },
    ).finally(() => {
      this.leasing = false;
    });
  }

  /** Returns an idle pocket's tokens to the shared bucket. */
  async giveBackIfIdle(now: number): Promise<void> {
    if (this.leasing || this.pocket <= 0 || now - this.lastTakeAt < this.owner.idleMs) return;
    const back = this.pocket;
    this.pocket = 0;
    this.leasing = true;
    try {
      const { left } = await this.owner.lease(this.accountId, this.metric, this.capacity, 0, back);
      this.left = left;
    } catch {
      this.pocket += back; // kept: given back at the next sweep
    } finally {
      this.leasing = false;
    }
  }
}
