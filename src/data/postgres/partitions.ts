/**
 * The partitions of `data_records` (migration 3 in store/postgres/migrations.ts), made on
 * demand before an insert (or an edit that moves a record in time) needs them.
 *
 * A record's time is the client's, so partitions follow what arrives, within bounds: a month
 * near today (from 13 months before it to 2 after) gets a partition of its own; any other
 * time in [2000, 2100) gets its year's partition, unless months of that year have partitions
 * already (then its month's: ranges never overlap). Before 2000 and from 2100 on, two fixed
 * partitions hold everything. So a device sending scattered dates makes at most one partition
 * per year of the century, plus the months that really pass: never one per message.
 *
 * Creation takes an advisory lock and reads the catalog again under it, so nodes creating the
 * same partition at once make it once, and one node's year never collides with another's month.
 */
import type { Pool } from "../../store/postgres/pool.js";
import { PARTITIONED_FROM, PARTITIONED_TO } from "../../store/postgres/migrations.js";

const PARTITION_LOCK = 0x736c_7569_6365_02n;
const NEAR_MONTHS_BEFORE = 13;
const NEAR_MONTHS_AFTER = 2;

interface Range {
  name: string;
  from: number;
  to: number;
}

const NO_RANGE = { from: 0, to: 0 };

const monthName = (y: number, m: number) => `data_records_m${y}${String(m + 1).padStart(2, "0")}`;
const yearName = (y: number) => `data_records_y${y}`;

function rangeOfName(name: string): Range | undefined {
  const month = /^data_records_m(\d{4})(\d{2})$/.exec(name);
  if (month) {
    const y = Number(month[1]);
    const m = Number(month[2]) - 1;
    return { name, from: Date.UTC(y, m, 1), to: Date.UTC(y, m + 1, 1) };
  }
  const year = /^data_records_y(\d{4})$/.exec(name);
  if (year) return { name, from: Date.UTC(Number(year[1]), 0, 1), to: Date.UTC(Number(year[1]) + 1, 0, 1) };
  return undefined;
}

export class Partitions {
  /** Partitions known to exist, by name. */
  private readonly known = new Map<string, Range>();
  /** Month and year starts (epoch ms) known to be covered. */
  private readonly months = new Set<number>();
  private readonly years = new Set<number>();
  /** The range `covered` last found (a month or a year), asked first. */
  private lastHit: { from: number; to: number } = NO_RANGE;

  constructor(private readonly pool: Pool) {}

  /** Makes sure every time in `times` has a partition to go to. */
  async ensure(times: Iterable<number>): Promise<void> {
    let missing: number[] | undefined;
    for (const t of times) {
      if (this.covered(t)) continue;
      (missing ??= []).push(t);
    }
    if (!missing) return;
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK.toString()]);
      await this.load(client);
      for (const t of missing) {
        if (this.covered(t)) continue;
        const range = this.rangeFor(t);
        await client.query(`CREATE TABLE IF NOT EXISTS ${range.name} PARTITION OF data_records FOR VALUES FROM (${range.from}) TO (${range.to})`);
        this.add(range);
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      // What this transaction added was rolled back: read the catalog again next time.
      this.known.clear();
      this.months.clear();
      this.years.clear();
      this.lastHit = NO_RANGE;
      throw error;
    } finally {
      client.release();
    }
  }

  /** Reads the partitions that exist (made by any node). */
  async load(db: Pick<Pool, "query"> = this.pool): Promise<void> {
    const rows = (await db.query(
      "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'data_records'::regclass",
    )).rows as { name: string }[];
    for (const { name } of rows) {
      const range = rangeOfName(name);
      if (range) this.add(range);
    }
  }

  /** Names of the partitions this store knows of (tests, docs). */
  names(): string[] {
    return [...this.known.keys()].sort();
  }

  private covered(t: number): boolean {
    if (t < PARTITIONED_FROM || t >= PARTITIONED_TO) return true;
    // Every record of a commit is asked about, and most fall in the month of the one before.
    if (t >= this.lastHit.from && t < this.lastHit.to) return true;
    const d = new Date(t);
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    const month = Date.UTC(y, m, 1);
    if (this.months.has(month)) this.lastHit = { from: month, to: Date.UTC(y, m + 1, 1) };
    else if (this.years.has(Date.UTC(y, 0, 1))) this.lastHit = { from: Date.UTC(y, 0, 1), to: Date.UTC(y + 1, 0, 1) };
    else return false;
    return true;
  }

  private rangeFor(t: number): Range {
    const d = new Date(t);
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    const now = new Date();
    const monthsAway = (y - now.getUTCFullYear()) * 12 + (m - now.getUTCMonth());
    const yearHasMonths = [...this.known.values()].some((r) => r.name.startsWith(`data_records_m${y}`));
    if ((monthsAway >= -NEAR_MONTHS_BEFORE && monthsAway <= NEAR_MONTHS_AFTER) || yearHasMonths) {
      return { name: monthName(y, m), from: Date.UTC(y, m, 1), to: Date.UTC(y, m + 1, 1) };
    }
    return { name: yearName(y), from: Date.UTC(y, 0, 1), to: Date.UTC(y + 1, 0, 1) };
  }

  private add(range: Range): void {
    this.known.set(range.name, range);
    if (range.name.startsWith("data_records_m")) this.months.add(range.from);
    else this.years.add(range.from);
  }
}
