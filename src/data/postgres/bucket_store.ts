/**
 * Device buckets in PostgreSQL (schema: migration 3 in store/postgres/migrations.ts), with the
 * semantics of data/sqlite/bucket_store.ts: the same BucketStore contract, tested by the same
 * tests (test/data/bucket_store.test.ts runs against both).
 *
 * Inserts are group-committed (the shared InsertBatcher): the calls waiting when a commit
 * starts go in one transaction, and every caller's promise settles after COMMIT has returned,
 * so an acknowledged record is a committed one (with `synchronous_commit` on, as by default,
 * on disk). Devices are spread over a few commit lanes (`commitLanes`), one commit in flight
 * per lane. Large deletions (retention, a dropped device)
 * go in chunks of their own transactions. The periodic retention sweep runs on one node at a
 * time (a session advisory lock, tried, never waited for).
 */
import { invalid } from "../../errors.js";
import { migratePg } from "../../store/postgres/migrations.js";
import { DEFAULT_POOL_SIZE, openPool, transaction, type Pool, type PoolClient, type PoolOptions, type Queryable } from "../../store/postgres/pool.js";
import type { DataQuery } from "../query.js";
import { downsampleEdges } from "../sqlite/bucket_queries.js";
import { InsertBatcher } from "../sqlite/insert_batcher.js";
import { decodeRow, encodeValue, recordId, seqOf, ValueType, type RecordRow } from "../sqlite/record_codec.js";
import type { BucketStore, NormalizedRecord, QueryResult, RecordEdit, RetentionPolicy, StoredRecord } from "../types.js";
import { lastByVariableSql, PgBucketQueries, PG_RECORD_COLUMNS, pgRow, type PgRecordRow } from "./bucket_queries.js";
import { BucketGone, commitInserts, type InsertMethod } from "./insert_commit.js";
import { invalidateLast, variablesOf } from "./last_values.js";
import { Partitions } from "./partitions.js";

export interface PgBucketStoreOptions {
  /** Commit at once when this many records wait (default 5 000); otherwise at the next setImmediate. */
  maxBatchRecords?: number;
  /** Records deleted per transaction by retention and device removal (default 5 000). */
  deleteChunk?: number;
  /** How often buckets with a retention are trimmed (default 10 minutes; 0 turns the sweep off). */
  retentionSweepMs?: number;
  /** Errors of background work, which have no caller to reject. */
  onError?: (error: unknown) => void;
  /** How a commit sends its rows (default "copy"; see insert_commit.ts and docs/benchmarks.md). */
  insertMethod?: InsertMethod;
  /**
   * Commits in flight at once (default 4), each on its own connection, each lane a group commit
   * of its own. A device always uses the same lane, so its calls commit in the order made, and
   * two lanes never touch the same bucket rows (no lock waits, no deadlock between them).
   * A commit waits for the disk (WAL flush); with one lane the store waits with it, with
   * several the next batches travel meanwhile and PostgreSQL flushes them together.
   */
  commitLanes?: number;
}

interface InsertCall {
  deviceId: string;
  records: NormalizedRecord[];
}

export type InsertListener = (deviceId: string, records: StoredRecord[]) => void;

const DAY_MS = 86_400_000;
const SWEEP_LOCK = 0x736c_7569_6365_03n;

export class PgBucketStore implements BucketStore {
  private readonly lanes: InsertBatcher<InsertCall, StoredRecord[]>[];
  private readonly queries: PgBucketQueries;
  private readonly partitions: Partitions;
  private readonly buckets = new Map<string, number>();
  /** Bucket lookups in flight, by "create:"/"read:" and device (bucketId). */
  private readonly bucketLookups = new Map<string, Promise<number | undefined>>();
  private readonly retentionDue = new Set<string>();
  private readonly deleteChunk: number;
  private readonly method: InsertMethod;
  private readonly onError: (error: unknown) => void;
  private readonly sweep: NodeJS.Timeout | undefined;
  private readonly work = new Set<Promise<unknown>>();
  private inserted: InsertListener | undefined;
  private ownsPool = false;
  private closed = false;

  /** Opens a pool of its own to `url`, migrates the database, and resumes unfinished device removals. */
  static async open(url: string, options: PgBucketStoreOptions & PoolOptions = {}): Promise<PgBucketStore> {
    // Two at least: the retention sweep holds one (its lock) while it deletes through another.
    const pool = openPool(url, { ...options, max: Math.max(2, options.max ?? DEFAULT_POOL_SIZE) });
    try {
      await migratePg(pool);
      const store = await PgBucketStore.create(pool, options);
      store.ownsPool = true;
      return store;
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** On a pool the caller owns (PgStore's), its database migrated already. */
  static async create(pool: Pool, options: PgBucketStoreOptions = {}): Promise<PgBucketStore> {
    const store = new PgBucketStore(pool, options);
    await store.partitions.load();
    for (const r of (await pool.query("SELECT bucket FROM data_dropped")).rows as { bucket: number }[]) store.background(store.purge(r.bucket));
    return store;
  }

  private constructor(
    private readonly pool: Pool,
    options: PgBucketStoreOptions,
  ) {
    this.deleteChunk = options.deleteChunk ?? 5000;
    this.method = options.insertMethod ?? "copy";
    this.onError = options.onError ?? (() => {});
    this.queries = new PgBucketQueries(pool);
    this.partitions = new Partitions(pool);
    const lanes = Math.max(1, Math.floor(options.commitLanes ?? 4));
    this.lanes = Array.from({ length: lanes }, () => new InsertBatcher<InsertCall, StoredRecord[]>((calls) => this.commit(calls), {
      maxUnits: options.maxBatchRecords ?? 5000,
      units: (call) => call.records.length,
    }));
    const sweepMs = options.retentionSweepMs ?? 10 * 60_000;
    if (sweepMs > 0) {
      this.sweep = setInterval(() => this.background(this.sweepRetention()), sweepMs);
      this.sweep.unref();
    }
  }

  // ---- writes ---------------------------------------------------------------------------

  async insert(deviceId: string, records: NormalizedRecord[]): Promise<StoredRecord[]> {
    if (this.closed) throw new Error("bucket store is closed");
    if (records.length === 0) return [];
    return this.laneOf(deviceId).submit({ deviceId, records });
  }

  private laneOf(deviceId: string): InsertBatcher<InsertCall, StoredRecord[]> {
    if (this.lanes.length === 1) return this.lanes[0]!;
    let h = 0;
    for (let i = 0; i < deviceId.length; i++) h = (h * 31 + deviceId.charCodeAt(i)) | 0;
    return this.lanes[(h >>> 0) % this.lanes.length]!;
  }

  private async drained(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.drained()));
  }

  /** Tells `listener` of every insert once committed (as SqliteBucketStore.onInserted). */
  onInserted(listener: InsertListener | undefined): void {
    this.inserted = listener;
  }

  /** Resolves once what is waiting now is committed. */
  flush(): Promise<void> {
    return this.drained();
  }

  private async commit(calls: InsertCall[]): Promise<StoredRecord[][]> {
    const ids = await this.commitBucketIds(calls.map((call) => call.deviceId));
    await this.partitions.ensure(times(calls.flatMap((c) => c.records)));
    const createdAt = Date.now();
    const batch = calls.map((call, i) => ({ bucket: ids[i]!, records: call.records }));
    let outcome;
    try {
      outcome = await commitInserts(this.pool, batch, createdAt, this.method);
    } catch (error) {
      // Dropped by another node (or here): the next insert for the device makes a new bucket.
      if (error instanceof BucketGone) for (const call of calls) if (error.buckets.includes(this.buckets.get(call.deviceId) ?? -1)) this.buckets.delete(call.deviceId);
      throw error;
    }
    for (const size of outcome.sizes) {
      if (size.retentionRecords === null || size.records <= size.retentionRecords) continue;
      this.retentionDue.add(calls[batch.findIndex((b) => b.bucket === size.bucket)]!.deviceId);
    }
    if (this.retentionDue.size > 0) setImmediate(() => this.runDueRetention());
    const stored = calls.map((call, i) =>
      call.records.map((r, j): StoredRecord => ({
        variable: r.variable, value: r.value, unit: r.unit, time: r.time, group: r.group, location: r.location, metadata: r.metadata,
        id: recordId(outcome.seqs[i]![j]!, createdAt), device: call.deviceId, createdAt: new Date(createdAt),
      })),
    );
    if (this.inserted) {
      for (let i = 0; i < calls.length; i++) {
        try {
          this.inserted(calls[i]!.deviceId, stored[i]!);
        } catch (error) {
          this.onError(error);
        }
      }
    }
    return stored;
  }

  async edit(deviceId: string, edits: RecordEdit[]): Promise<number> {
    const bucket = await this.bucketId(deviceId, false);
    if (bucket === undefined || edits.length === 0) return 0;
    const newTimes = edits.flatMap((e) => (e.time ? [e.time.getTime()] : []));
    await this.partitions.ensure(newTimes);
    const bySeq = new Map<number, RecordEdit>();
    for (const e of edits) {
      const seq = seqOf(e.id);
      if (seq !== undefined) bySeq.set(seq, e);
    }
    if (bySeq.size === 0) return 0;
    return transaction(this.pool, async (c) => {
      const rows = ((await c.query(`SELECT ${PG_RECORD_COLUMNS} FROM data_records WHERE bucket = $1 AND seq = ANY($2::bigint[]) ORDER BY seq FOR UPDATE`,
        [bucket, [...bySeq.keys()]])).rows as PgRecordRow[]).map(pgRow);
      const touched = new Set<string>();
      for (const row of rows) {
        await this.applyEdit(c, bucket, row, bySeq.get(row.seq)!);
        touched.add(row.variable);
      }
      for (const variable of touched) await invalidateLast(c, bucket, variable);
      return rows.length;
    });
  }

  private async applyEdit(c: PoolClient, bucket: number, row: RecordRow, edit: RecordEdit): Promise<void> {
    const [vtype, value] = edit.value === undefined ? [row.vtype, row.value] : encodeValue(edit.value);
    const location = edit.location === undefined ? [row.lat, row.lng] : [edit.location?.lat ?? null, edit.location?.lng ?? null];
    const metadata = edit.metadata === undefined ? row.metadata : edit.metadata === null ? null : JSON.stringify(edit.metadata);
    const str = vtype === ValueType.String ? value : null;
    const num = vtype === ValueType.String ? null : value;
    await c.query(
      "UPDATE data_records SET time = $1, vtype = $2, num = $3, str = $4, unit = $5, grp = $6, lat = $7, lng = $8, metadata = $9 WHERE bucket = $10 AND seq = $11",
      [edit.time?.getTime() ?? row.time, vtype, num, str, edit.unit === undefined ? row.unit : edit.unit, edit.group ?? row.grp,
        location[0], location[1], metadata, bucket, row.seq],
    );
  }

  async remove(deviceId: string, query: DataQuery): Promise<number> {
    if (["count", "avg", "sum", "aggregate", "downsample"].includes(query.kind)) {
      throw invalid(`query=${query.kind} does not select records, so it cannot be used to delete`);
    }
    const bucket = await this.bucketId(deviceId, false);
    if (bucket === undefined) return 0;
    const result = await this.queries.run(bucket, query as Exclude<DataQuery, { kind: "downsample" }>);
    if (result.type !== "rows" || result.rows.length === 0) return 0;
    const seqs = result.rows.map((r) => r.seq);
    return transaction(this.pool, async (c) => {
      const deleted = (await c.query("DELETE FROM data_records WHERE bucket = $1 AND seq = ANY($2::bigint[]) RETURNING seq, variable", [bucket, seqs])).rows;
      await this.afterDelete(c, bucket, deleted);
      return deleted.length;
    });
  }

  /** Keeps the count and data_last right after `rows` were deleted from `bucket` (in the deleting transaction). */
  private async afterDelete(c: Queryable, bucket: number, rows: { seq: number; variable: string }[]): Promise<void> {
    if (rows.length === 0) return;
    await c.query("UPDATE data_buckets SET records = records - $1 WHERE id = $2", [rows.length, bucket]);
    const byVariable = new Map<string, Set<number>>();
    for (const { seq, variable } of rows) {
      let seqs = byVariable.get(variable);
      if (!seqs) byVariable.set(variable, (seqs = new Set()));
      seqs.add(seq);
    }
    for (const [variable, seqs] of [...byVariable].sort((a, b) => (a[0] < b[0] ? -1 : 1))) await invalidateLast(c, bucket, variable, seqs);
  }

  async dropDevice(deviceId: string): Promise<void> {
    await this.laneOf(deviceId).drained();
    const bucket = await this.bucketId(deviceId, false);
    if (bucket === undefined) return;
    // The bucket goes at once (queries see nothing, new inserts make a new one); its records
    // go in chunks, and data_dropped remembers the job across restarts.
    await transaction(this.pool, async (c) => {
      await c.query("DELETE FROM data_buckets WHERE id = $1", [bucket]);
      await c.query("DELETE FROM data_last WHERE bucket = $1", [bucket]);
      await c.query("INSERT INTO data_dropped (bucket) VALUES ($1) ON CONFLICT DO NOTHING", [bucket]);
    });
    this.buckets.delete(deviceId);
    await this.purge(bucket);
  }

  private async purge(bucket: number): Promise<void> {
    while (!this.closed) {
      const gone = await this.pool.query(
        "DELETE FROM data_records WHERE bucket = $1 AND seq IN (SELECT seq FROM data_records WHERE bucket = $1 LIMIT $2)", [bucket, this.deleteChunk]);
      if ((gone.rowCount ?? 0) === 0) break;
    }
    if (!this.closed) await this.pool.query("DELETE FROM data_dropped WHERE bucket = $1", [bucket]);
  }

  // ---- retention ------------------------------------------------------------------------

  async retention(deviceId: string): Promise<Required<RetentionPolicy>> {
    const row = (await this.pool.query("SELECT retention_days AS days, retention_records AS records FROM data_buckets WHERE device = $1", [deviceId]))
      .rows[0] as { days: number | null; records: number | null } | undefined;
    return { days: row?.days ?? null, records: row?.records ?? null };
  }

  async setRetention(deviceId: string, policy: RetentionPolicy): Promise<void> {
    const days = checkLimit(policy.days, "retention days");
    const records = checkLimit(policy.records, "retention records");
    await this.pool.query("UPDATE data_buckets SET retention_days = $1, retention_records = $2 WHERE id = $3", [days, records, await this.bucketId(deviceId, true)]);
  }

  async applyRetention(deviceId: string, policy?: RetentionPolicy): Promise<number> {
    const bucket = await this.bucketId(deviceId, false);
    if (bucket === undefined) return 0;
    const { days, records } = policy ?? (await this.retention(deviceId));
    let removed = 0;
    if (days) {
      const cutoff = Date.now() - days * DAY_MS;
      for (const variable of await variablesOf(this.pool, bucket)) {
        removed += await this.deleteInChunks(bucket, (c) =>
          c.query(
            `DELETE FROM data_records WHERE bucket = $1 AND seq IN (SELECT seq FROM data_records WHERE bucket = $1 AND variable = $2 AND time < $3 LIMIT $4)
             RETURNING seq, variable`,
            [bucket, variable, cutoff, this.deleteChunk],
          ).then((r) => r.rows));
      }
    }
    if (records !== null && records !== undefined) {
      removed += await this.deleteInChunks(bucket, async (c) => {
        const count = ((await c.query("SELECT records FROM data_buckets WHERE id = $1 FOR UPDATE", [bucket])).rows[0] as { records: number } | undefined)?.records ?? 0;
        const excess = count - records;
        if (excess <= 0) return [];
        const oldest = await this.oldest(c, bucket, Math.min(excess, this.deleteChunk));
        return (await c.query("DELETE FROM data_records WHERE bucket = $1 AND seq = ANY($2::bigint[]) RETURNING seq, variable", [bucket, oldest])).rows;
      });
    }
    return removed;
  }

  /** The seqs of the bucket's `n` oldest records (by time, then seq): the variables' index ranges merged. */
  private async oldest(c: Queryable, bucket: number, n: number): Promise<number[]> {
    const variables = await variablesOf(c, bucket);
    if (variables.length === 0) return [];
    // Ordered legs, merged (see mergedPageSql): the oldest n read from the index, not sorted.
    const leg = (i: number) => `SELECT seq, time FROM data_records WHERE bucket = $1 AND variable = $${i + 3}`;
    const legs = variables.length === 1 ? leg(0) : variables.map((_, i) => `(${leg(i)} ORDER BY time, seq)`).join(" UNION ALL ");
    return ((await c.query(`${legs} ORDER BY time, seq LIMIT $2`, [bucket, n, ...variables])).rows as { seq: number }[]).map((r) => r.seq);
  }

  /** Runs `deleteChunk` (returning the rows it deleted) in its own transactions until it deletes nothing. */
  private async deleteInChunks(bucket: number, deleteChunk: (c: PoolClient) => Promise<{ seq: number; variable: string }[]>): Promise<number> {
    let removed = 0;
    for (;;) {
      if (this.closed) return removed;
      const rows = await transaction(this.pool, async (c) => {
        const deleted = await deleteChunk(c);
        await this.afterDelete(c, bucket, deleted);
        return deleted;
      });
      removed += rows.length;
      if (rows.length === 0) return removed;
    }
  }

  private runDueRetention(): void {
    const due = [...this.retentionDue];
    this.retentionDue.clear();
    for (const deviceId of due) this.background(this.applyRetention(deviceId));
  }

  /** One node at a time sweeps: whoever holds the lock; the others skip this round. */
  private async sweepRetention(): Promise<void> {
    const client = await this.pool.connect();
    try {
      const got = (await client.query("SELECT pg_try_advisory_lock($1) AS ok", [SWEEP_LOCK.toString()])).rows[0].ok as boolean;
      if (!got) return;
      try {
        const devices = (await client.query("SELECT device FROM data_buckets WHERE retention_days IS NOT NULL OR retention_records IS NOT NULL")).rows as { device: string }[];
        for (const { device } of devices) {
          if (this.closed) return;
          await this.applyRetention(device);
        }
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [SWEEP_LOCK.toString()]);
      }
    } finally {
      client.release();
    }
  }

  // ---- reads ----------------------------------------------------------------------------

  async query(deviceId: string, query: DataQuery): Promise<QueryResult> {
    // No bucket: -1 matches no row, so every kind answers its own "empty".
    const bucket = (await this.bucketId(deviceId, false)) ?? -1;
    if (query.kind === "downsample") {
      const edges = downsampleEdges(query.start.getTime(), query.end.getTime(), query.buckets);
      return { type: "series", series: await this.queries.downsample(bucket, query, edges) };
    }
    const result = await this.queries.run(bucket, query);
    if (result.type !== "rows") return result;
    const records = result.rows.map((row) => decodeRow(row, deviceId));
    return result.truncated ? { type: "records", records, truncated: true } : { type: "records", records };
  }

  async lastValue(deviceId: string, variable: string): Promise<StoredRecord | undefined> {
    const bucket = await this.bucketId(deviceId, false);
    if (bucket === undefined) return undefined;
    const row = (await this.pool.query(lastByVariableSql("value"), [bucket, variable.toLowerCase()])).rows[0] as PgRecordRow | undefined;
    return row && decodeRow(pgRow(row), deviceId);
  }

  async count(deviceId: string): Promise<number> {
    const bucket = await this.bucketId(deviceId, false);
    if (bucket === undefined) return 0;
    return ((await this.pool.query("SELECT records FROM data_buckets WHERE id = $1", [bucket])).rows[0] as { records: number } | undefined)?.records ?? 0;
  }

  // ---- plumbing -------------------------------------------------------------------------

  /**
   * The buckets of a commit's devices, in two statements at most for those this node has not
   * cached: the existing ones read, the others made. A node (re)started under load meets every
   * connected device at once; one upsert each would be one autocommit and WAL flush each.
   */
  private async commitBucketIds(deviceIds: string[]): Promise<number[]> {
    const ids = new Map<string, number>();
    for (const d of deviceIds) {
      const cached = this.buckets.get(d);
      if (cached !== undefined) ids.set(d, cached);
    }
    // Sorted: two nodes making overlapping sets of buckets lock the rows in the same order.
    const missing = [...new Set(deviceIds.filter((d) => !ids.has(d)))].sort();
    const learn = (rows: { id: number; device: string }[]): void => {
      for (const row of rows) {
        ids.set(row.device, row.id);
        this.buckets.set(row.device, row.id);
      }
    };
    if (missing.length > 0) {
      learn((await this.pool.query("SELECT id, device FROM data_buckets WHERE device = ANY($1::text[])", [missing])).rows as { id: number; device: string }[]);
      const absent = missing.filter((d) => !ids.has(d));
      if (absent.length > 0) {
        learn((await this.pool.query(
          // DO UPDATE (a no-op) so that RETURNING answers for a row another node made meanwhile.
          "INSERT INTO data_buckets (device) SELECT unnest($1::text[]) ON CONFLICT (device) DO UPDATE SET device = excluded.device RETURNING id, device",
          [absent])).rows as { id: number; device: string }[]);
      }
    }
    return deviceIds.map((d) => {
      const id = ids.get(d);
      if (id === undefined) throw new Error(`no bucket for device ${d}`);
      return id;
    });
  }

  private bucketId(deviceId: string, create: boolean): Promise<number | undefined> {
    const cached = this.buckets.get(deviceId);
    if (cached !== undefined) return Promise.resolve(cached);
    // One lookup per device at a time: concurrent upserts of one row queue on its lock, each an
    // autocommit with its own WAL flush (commits take theirs in one go: commitBucketIds).
    const key = `${create ? "create" : "read"}:${deviceId}`;
    let pending = this.bucketLookups.get(key);
    if (pending === undefined) {
      pending = this.lookUpBucket(deviceId, create).finally(() => this.bucketLookups.delete(key));
      this.bucketLookups.set(key, pending);
    }
    return pending;
  }

  private async lookUpBucket(deviceId: string, create: boolean): Promise<number | undefined> {
    const row = create
      ? (await this.pool.query(
        // DO UPDATE (a no-op) so that RETURNING answers for an existing row too.
        "INSERT INTO data_buckets (device) VALUES ($1) ON CONFLICT (device) DO UPDATE SET device = excluded.device RETURNING id", [deviceId])).rows[0]
      : (await this.pool.query("SELECT id FROM data_buckets WHERE device = $1", [deviceId])).rows[0];
    const id = (row as { id: number } | undefined)?.id;
    if (id !== undefined) this.buckets.set(deviceId, id);
    return id;
  }

  private background(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => {
      if (!this.closed) this.onError(error);
    });
    this.work.add(tracked);
    void tracked.finally(() => this.work.delete(tracked));
  }

  /** Commits what is waiting, stops background work, and ends the pool if `open` made it. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.drained();
    this.closed = true;
    clearInterval(this.sweep);
    await Promise.all(this.work);
    if (this.ownsPool) await this.pool.end();
  }
}

function* times(records: NormalizedRecord[]): Generator<number> {
  for (const r of records) yield r.time.getTime();
}

function checkLimit(value: number | null | undefined, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(`${name} must be a positive integer or null`);
  return value;
}
