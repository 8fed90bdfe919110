/**
 * Device buckets in SQLite (schema: migration 3 in store/sqlite/migrations.ts).
 *
 * Inserts are group-committed (insert_batcher.ts). Deletions that may be large (retention,
 * dropping a device) run in chunks, yielding to the event loop between them, so the broker
 * and the API keep answering while a million expired records go.
 *
 * Give it its own connection (`SqliteBucketStore.open(file)`) to the main database file:
 * its transactions then never mix with the identity or broker statements of the main one.
 */
import { invalid } from "../../errors.js";
import { writeTransaction, openDatabase, type Db } from "../../store/sqlite/open.js";
import type { DataQuery } from "../query.js";
import type { BucketStore, DownsampleBucket, NormalizedRecord, QueryResult, RecordEdit, RetentionPolicy, StoredRecord } from "../types.js";
import { BucketQueries, downsampleEdges, lastByVariableSql, type DownsampleRow } from "./bucket_queries.js";
import { DownsampleSlots, SLOT_MS, type SlotSummary } from "./downsample_slots.js";
import { InsertBatcher } from "./insert_batcher.js";
import { inlineWriter, ThreadWriter, type BucketWriter } from "./bucket_writer.js";
import { LastValues } from "./last_values.js";
import { decodeRow, encodeValue, RECORD_COLUMNS, recordId, seqOf, type RecordRow } from "./record_codec.js";

export interface SqliteBucketStoreOptions {
  /** Commit at once when this many records wait (default 5 000); otherwise at the next setImmediate. */
  maxBatchRecords?: number;
  /** Records deleted per transaction by retention and device removal (default 5 000). */
  deleteChunk?: number;
  /** How often buckets with a retention are trimmed (default 10 minutes; 0 turns the sweep off). */
  retentionSweepMs?: number;
  /** Errors of background work (retention, resumed removals), which have no caller to reject. */
  onError?: (error: unknown) => void;
  /** Bytes of hour summaries kept for `query=downsample` (downsample_slots.ts; default 32 MiB, 0: none). */
  downsampleCacheBytes?: number;
}

export const DEFAULT_DOWNSAMPLE_CACHE_BYTES = 32 * 1024 * 1024;

interface InsertCall {
  deviceId: string;
  records: NormalizedRecord[];
}

const DAY_MS = 86_400_000;
/** Event-loop time a downsample takes before it lets other work run (it goes on after a turn). */
const DOWNSAMPLE_SLICE_MS = 8;
/** Ranges waiting to be summarized; past it a query's range is not queued (the next one queues it). */
const MAX_QUEUED_SUMMARIES = 256;

/** Told of every committed insert: the device and its records as stored (ids included). */
export type InsertListener = (deviceId: string, records: StoredRecord[]) => void;

export class SqliteBucketStore implements BucketStore {
  private readonly batcher: InsertBatcher<InsertCall, StoredRecord[]>;
  private readonly writer: BucketWriter;
  private readonly queries: BucketQueries;
  private readonly last: LastValues;
  private readonly buckets = new Map<string, number>();
  private readonly retentionDue = new Set<string>();
  private readonly deleteChunk: number;
  private readonly onError: (error: unknown) => void;
  private readonly sweep: NodeJS.Timeout | undefined;
  private ownsDb = false;
  private closed = false;
  private inserted: InsertListener | undefined;
  private readonly slots: DownsampleSlots;
  /** Hour summaries to make (`summarizeHours`), by range; and the run making them, if any. */
  private readonly summaries = new Map<string, { bucket: number; variable: string; first: number; end: number }>();
  private summarizing: Promise<void> | undefined;
  private readonly q;

  /**
   * Opens a dedicated connection to `file` (migrating it if needed); `close()` closes it.
   * Inserts run in a writer thread on a connection of its own (bucket_writer.ts) unless
   * `writerThread` is false.
   */
  static open(file: string, options: SqliteBucketStoreOptions & { writerThread?: boolean } = {}): SqliteBucketStore {
    const db = openDatabase(file);
    // Per-connection settings, so only this connection's commits are affected. With many
    // devices a commit dirties well over the default 1 000-page checkpoint threshold, which
    // would make nearly every commit also a checkpoint (with its fsync); at 10 000 pages
    // (about 40 MB of WAL) pages rewritten by successive commits are written back once.
    // A 64 MB page cache keeps the hot index pages of many devices in memory.
    db.pragma("wal_autocheckpoint = 10000");
    db.pragma("cache_size = -65536");
    const store = new SqliteBucketStore(db, options, options.writerThread === false ? undefined : new ThreadWriter(file, options.onError));
    store.ownsDb = true;
    return store;
  }

  /** Inserts run through `writer`; by default in this thread, on `db`. */
  constructor(
    private readonly db: Db,
    options: SqliteBucketStoreOptions = {},
    writer?: BucketWriter,
  ) {
    this.writer = writer ?? inlineWriter(db);
    this.deleteChunk = options.deleteChunk ?? 5000;
    this.slots = new DownsampleSlots(options.downsampleCacheBytes ?? DEFAULT_DOWNSAMPLE_CACHE_BYTES);
    this.onError = options.onError ?? (() => {});
    this.last = new LastValues(db);
    this.queries = new BucketQueries(db, this.last);
    this.q = {
      bucketOf: db.prepare("SELECT id FROM data_buckets WHERE device = ?").pluck(),
      createBucket: db.prepare("INSERT INTO data_buckets (device) VALUES (?) ON CONFLICT (device) DO NOTHING"),
      addCount: db.prepare("UPDATE data_buckets SET records = records + ? WHERE id = ? RETURNING records, retention_records"),
      byId: db.prepare(`SELECT ${RECORD_COLUMNS} FROM data_records WHERE seq = ? AND bucket = ?`),
      update: db.prepare("UPDATE data_records SET time = ?, vtype = ?, value = ?, unit = ?, grp = ?, lat = ?, lng = ?, metadata = ? WHERE seq = ?"),
      lastValue: db.prepare(lastByVariableSql("value")),
      retention: db.prepare("SELECT retention_days AS days, retention_records AS records FROM data_buckets WHERE device = ?"),
      setRetention: db.prepare("UPDATE data_buckets SET retention_days = ?, retention_records = ? WHERE id = ?"),
      withRetention: db.prepare("SELECT device FROM data_buckets WHERE retention_days IS NOT NULL OR retention_records IS NOT NULL").pluck(),
      count: db.prepare("SELECT records FROM data_buckets WHERE id = ?").pluck(),
      // One statement for any number of seqs: the list travels as one JSON array parameter.
      deleteSeqs: db.prepare("DELETE FROM data_records WHERE seq IN (SELECT value FROM json_each(?)) RETURNING seq, variable"),
      expired: db.prepare(
        "DELETE FROM data_records WHERE seq IN (SELECT seq FROM data_records WHERE bucket = ? AND variable = ? AND time < ? LIMIT ?) RETURNING seq, variable",
      ),
      oldestOf: db.prepare("SELECT seq, time FROM data_records WHERE bucket = ? AND variable = ? ORDER BY time, seq LIMIT ?"),
      dropBucket: db.prepare("DELETE FROM data_buckets WHERE id = ?"),
      markDropped: db.prepare("INSERT OR IGNORE INTO data_dropped (bucket) VALUES (?)"),
      purgeChunk: db.prepare("DELETE FROM data_records WHERE seq IN (SELECT seq FROM data_records WHERE bucket = ? LIMIT ?)"),
      unmarkDropped: db.prepare("DELETE FROM data_dropped WHERE bucket = ?"),
      dropped: db.prepare("SELECT bucket FROM data_dropped").pluck(),
    };
    this.batcher = new InsertBatcher((calls) => this.commitInserts(calls), {
      maxUnits: options.maxBatchRecords ?? 5000,
      units: (call) => call.records.length,
    });
    for (const bucket of this.q.dropped.all() as number[]) this.background(this.purge(bucket));
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
    return this.batcher.submit({ deviceId, records });
  }

  /**
   * Tells `listener` of every insert once committed, whatever called it (pipeline, HTTP,
   * analyses): live views (dashboards/live.ts) hear of new records here. One listener; it runs
   * synchronously after the commit, so it must be cheap, and its errors go to `onError`.
   */
  onInserted(listener: InsertListener | undefined): void {
    this.inserted = listener;
  }

  /** Resolves once what is waiting now is committed (normally the next setImmediate starts it). */
  flush(): Promise<void> {
    return this.batcher.drained();
  }

  private async commitInserts(calls: InsertCall[]): Promise<StoredRecord[][]> {
    // Buckets are created in their own (committed) statements first: an id handed out inside
    // the batch transaction would stay in the cache if that transaction rolled back.
    const batch = calls.map((call) => ({ bucket: this.bucketId(call.deviceId, true)!, records: call.records }));
    const createdAt = Date.now();
    const { seqs, sizes } = await this.writer.commit(batch, createdAt);
    for (const size of sizes) {
      if (size.retentionRecords === null || size.records <= size.retentionRecords) continue;
      this.retentionDue.add(calls[batch.findIndex((b) => b.bucket === size.bucket)]!.deviceId);
    }
    if (this.retentionDue.size > 0) setImmediate(() => this.runDueRetention());
    if (this.slots.size > 0) {
      for (let i = 0; i < calls.length; i++) for (const r of calls[i]!.records) this.slots.inserted(batch[i]!.bucket, r.variable, r.time.getTime());
    }
    // Written out field by field: a spread of each record was a visible share of ingest CPU.
    const stored = calls.map((call, i) =>
      call.records.map((r, j): StoredRecord => ({
        variable: r.variable, value: r.value, unit: r.unit, time: r.time, group: r.group, location: r.location, metadata: r.metadata,
        id: recordId(seqs[i]![j]!, createdAt), device: call.deviceId, createdAt: new Date(createdAt),
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
    const bucket = this.bucketId(deviceId, false);
    if (bucket === undefined || edits.length === 0) return 0;
    return writeTransaction(this.db, () => {
      const touched = new Set<string>();
      let changed = 0;
      for (const edit of edits) {
        const seq = seqOf(edit.id);
        const row = seq === undefined ? undefined : (this.q.byId.get(seq, bucket) as RecordRow | undefined);
        if (!row) continue;
        this.applyEdit(row, edit);
        touched.add(row.variable);
        changed++;
      }
      for (const variable of touched) {
        this.last.invalidate(bucket, variable);
        this.slots.forgetVariable(bucket, variable);
      }
      return changed;
    })();
  }

  private applyEdit(row: RecordRow, edit: RecordEdit): void {
    const [vtype, value] = edit.value === undefined ? [row.vtype, row.value] : encodeValue(edit.value);
    const location = edit.location === undefined ? [row.lat, row.lng] : [edit.location?.lat ?? null, edit.location?.lng ?? null];
    const metadata = edit.metadata === undefined ? row.metadata : edit.metadata === null ? null : JSON.stringify(edit.metadata);
    this.q.update.run(
      edit.time?.getTime() ?? row.time, vtype, value, edit.unit === undefined ? row.unit : edit.unit,
      edit.group ?? row.grp, location[0], location[1], metadata, row.seq,
    );
  }

  async remove(deviceId: string, query: DataQuery): Promise<number> {
    if (["count", "avg", "sum", "aggregate", "downsample"].includes(query.kind)) {
      throw invalid(`query=${query.kind} does not select records, so it cannot be used to delete`);
    }
    const bucket = this.bucketId(deviceId, false);
    if (bucket === undefined) return 0;
    const result = this.queries.run(bucket, query);
    if (result.type !== "rows" || result.rows.length === 0) return 0;
    const seqs = JSON.stringify(result.rows.map((r) => r.seq));
    return writeTransaction(this.db, () => {
      const deleted = this.q.deleteSeqs.all(seqs) as { seq: number; variable: string }[];
      this.afterDelete(bucket, deleted);
      return deleted.length;
    })();
  }

  /** Keeps the count and data_last right after `rows` were deleted from `bucket`. */
  private afterDelete(bucket: number, rows: { seq: number; variable: string }[]): void {
    if (rows.length === 0) return;
    this.q.addCount.get(-rows.length, bucket);
    const byVariable = new Map<string, Set<number>>();
    for (const { seq, variable } of rows) {
      let seqs = byVariable.get(variable);
      if (!seqs) byVariable.set(variable, (seqs = new Set()));
      seqs.add(seq);
    }
    for (const [variable, seqs] of byVariable) {
      this.last.invalidate(bucket, variable, seqs);
      this.slots.forgetVariable(bucket, variable);
    }
  }

  async dropDevice(deviceId: string): Promise<void> {
    // Records still waiting for this device go with the rest. Nothing awaits between here and
    // the drop, so no insert with the old bucket id can be in flight while it goes.
    await this.batcher.drained();
    const bucket = this.bucketId(deviceId, false);
    if (bucket === undefined) return;
    // The bucket disappears at once (queries see nothing, new inserts get a new bucket); its
    // records go in chunks, and data_dropped remembers the job across restarts.
    writeTransaction(this.db, () => {
      this.q.dropBucket.run(bucket);
      this.last.removeBucket(bucket);
      this.slots.forgetBucket(bucket);
      this.q.markDropped.run(bucket);
    })();
    this.buckets.delete(deviceId);
    await this.purge(bucket);
  }

  private async purge(bucket: number): Promise<void> {
    while (!this.closed && this.q.purgeChunk.run(bucket, this.deleteChunk).changes > 0) await nextTick();
    if (!this.closed) this.q.unmarkDropped.run(bucket);
  }

  // ---- retention ------------------------------------------------------------------------

  async retention(deviceId: string): Promise<Required<RetentionPolicy>> {
    const row = this.q.retention.get(deviceId) as { days: number | null; records: number | null } | undefined;
    return { days: row?.days ?? null, records: row?.records ?? null };
  }

  async setRetention(deviceId: string, policy: RetentionPolicy): Promise<void> {
    const days = checkLimit(policy.days, "retention days");
    const records = checkLimit(policy.records, "retention records");
    this.q.setRetention.run(days, records, this.bucketId(deviceId, true)!);
  }

  async applyRetention(deviceId: string, policy?: RetentionPolicy): Promise<number> {
    const bucket = this.bucketId(deviceId, false);
    if (bucket === undefined) return 0;
    const { days, records } = policy ?? (await this.retention(deviceId));
    let removed = 0;
    if (days) {
      const cutoff = Date.now() - days * DAY_MS;
      for (const variable of this.last.variables(bucket)) {
        removed += await this.deleteInChunks(bucket, () => this.q.expired.all(bucket, variable, cutoff, this.deleteChunk));
      }
    }
    if (records !== null && records !== undefined) {
      removed += await this.deleteInChunks(bucket, () => {
        const excess = ((this.q.count.get(bucket) as number | undefined) ?? 0) - records;
        return excess > 0 ? this.q.deleteSeqs.all(JSON.stringify(this.oldest(bucket, Math.min(excess, this.deleteChunk)))) : [];
      });
    }
    return removed;
  }

  /** The seqs of the bucket's `n` oldest records (by time): the oldest `n` of each variable, merged. */
  private oldest(bucket: number, n: number): number[] {
    const candidates = this.last.variables(bucket).flatMap((v) => this.q.oldestOf.all(bucket, v, n) as { seq: number; time: number }[]);
    candidates.sort((a, b) => a.time - b.time || a.seq - b.seq);
    return candidates.slice(0, n).map((c) => c.seq);
  }

  /** Runs `deleteChunk` (a DELETE ... RETURNING) in its own transactions until it deletes nothing. */
  private async deleteInChunks(bucket: number, deleteChunk: () => unknown[]): Promise<number> {
    let removed = 0;
    for (;;) {
      if (this.closed) return removed;
      const rows = writeTransaction(this.db, () => {
        const deleted = deleteChunk() as { seq: number; variable: string }[];
        this.afterDelete(bucket, deleted);
        return deleted;
      })();
      removed += rows.length;
      if (rows.length === 0) return removed;
      await nextTick();
    }
  }

  private runDueRetention(): void {
    const due = [...this.retentionDue];
    this.retentionDue.clear();
    for (const deviceId of due) this.background(this.applyRetention(deviceId));
  }

  private async sweepRetention(): Promise<void> {
    for (const deviceId of this.q.withRetention.all() as string[]) {
      if (this.closed) return;
      await this.applyRetention(deviceId);
    }
  }

  // ---- reads ----------------------------------------------------------------------------

  async query(deviceId: string, query: DataQuery): Promise<QueryResult> {
    // A device that never stored anything has no bucket; -1 matches no row, so every kind
    // answers its own "empty" (no records, count 0, no average).
    const bucket = this.bucketId(deviceId, false) ?? -1;
    if (query.kind === "downsample") return { type: "series", series: await this.downsample(bucket, query) };
    const result = this.queries.run(bucket, query);
    if (result.type !== "rows") return result;
    const records = result.rows.map((row) => decodeRow(row, deviceId));
    return result.truncated ? { type: "records", records, truncated: true } : { type: "records", records };
  }

  /**
   * `query=downsample`: per time bucket and variable, indexed range aggregates (bucket_queries.ts,
   * `downsampleSql`). A bucket whose whole hours are all summarized (downsample_slots.ts) reads
   * those summaries and the records of its two partial hours only; otherwise it reads its
   * records, and the hours of the query's range are summarized afterwards, in the background
   * (`summarizeHours`), for the next query. Other filters than variables always read the
   * records. It yields to the event loop every DOWNSAMPLE_SLICE_MS: a year of a million
   * records is many short steps, never one long block of the broker's loop. Buckets without
   * numeric records are left out; the result is in time order, then by variable.
   */
  private async downsample(bucket: number, query: Extract<DataQuery, { kind: "downsample" }>): Promise<DownsampleBucket[]> {
    const { filter } = query;
    const edges = downsampleEdges(query.start.getTime(), query.end.getTime(), query.buckets);
    const summarized = this.slots.enabled && bucket >= 0 && !filter.ids && !filter.groups && !filter.values;
    const out: DownsampleBucket[] = [];
    let sliceStart = performance.now();
    const pause = async () => {
      if (performance.now() - sliceStart <= DOWNSAMPLE_SLICE_MS) return;
      await nextTick();
      if (this.closed) throw new Error("bucket store is closed");
      sliceStart = performance.now();
    };
    for (const variable of this.queries.variablesOf(bucket, filter)) {
      const read = (from: number, to: number) => summary(this.queries.downsampleStep(bucket, variable, filter, from, to));
      let unsummarized = false;
      for (let i = 0; i + 1 < edges.length; i++) {
        const from = edges[i]!;
        const to = edges[i + 1]!;
        const firstWhole = Math.ceil(from / SLOT_MS) * SLOT_MS;
        const endWhole = Math.floor(to / SLOT_MS) * SLOT_MS;
        const hours = summarized && firstWhole < endWhole ? this.slots.slotsOf(bucket, variable) : undefined;
        let whole = hours !== undefined;
        for (let slot = firstWhole; whole && slot < endWhole; slot += SLOT_MS) whole = hours!.has(slot);
        let sum: SlotSummary;
        if (!whole) {
          sum = read(from, to);
          unsummarized ||= summarized && firstWhole < endWhole;
        } else {
          sum = from < firstWhole ? read(from, firstWhole) : EMPTY;
          for (let slot = firstWhole; slot < endWhole; slot += SLOT_MS) sum = merge(sum, hours!.get(slot)!);
          if (endWhole < to) sum = merge(sum, read(endWhole, to));
        }
        if (sum.n > 0) {
          out.push({ variable, start: new Date(from), end: new Date(to), min: sum.mn, max: sum.mx, avg: sum.total / sum.n, count: sum.n, first: new Date(sum.first), last: new Date(sum.last) });
        }
        await pause();
      }
      if (unsummarized) this.summarizeHours(bucket, variable, edges[0]!, edges[edges.length - 1]!);
    }
    out.sort((a, b) => a.start.getTime() - b.start.getTime() || (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0));
    return out;
  }

  /**
   * Queues the summaries of the whole hours of [from, to) of a variable, made in the background
   * one hour at a time (each computed and kept in one synchronous step, see downsample_slots.ts),
   * yielding like a query. Ranges with more hours than the cache holds are not summarized.
   */
  private summarizeHours(bucket: number, variable: string, from: number, to: number): void {
    const first = Math.ceil(from / SLOT_MS) * SLOT_MS;
    const end = Math.floor(to / SLOT_MS) * SLOT_MS;
    if (end <= first || !this.slots.fits((end - first) / SLOT_MS) || this.summaries.size >= MAX_QUEUED_SUMMARIES) return;
    this.summaries.set(`${bucket}\n${variable}\n${first}\n${end}`, { bucket, variable, first, end });
    if (this.summarizing) return;
    this.summarizing = this.runSummaries().finally(() => (this.summarizing = undefined));
    this.background(this.summarizing);
  }

  private async runSummaries(): Promise<void> {
    // After the query that queued them has answered.
    await nextTick();
    let sliceStart = performance.now();
    for (const [key, job] of this.summaries) {
      this.summaries.delete(key);
      for (let slot = job.first; slot < job.end; slot += SLOT_MS) {
        if (this.closed) return;
        if (this.slots.slotsOf(job.bucket, job.variable)?.has(slot)) continue;
        this.slots.keep(job.bucket, job.variable, slot, summary(this.queries.downsampleStep(job.bucket, job.variable, {}, slot, slot + SLOT_MS)));
        if (performance.now() - sliceStart > DOWNSAMPLE_SLICE_MS) {
          await nextTick();
          sliceStart = performance.now();
        }
      }
    }
  }

  /**
   * Summarizes, in the background, the whole hours of [from, to) of a device's variables, so the
   * first `query=downsample` over them (a chart opened) reads hour summaries instead of every
   * record. Bounded like any summary: by `data.downsampleCacheBytes` and the queue's length.
   */
  prepareDownsample(deviceId: string, variables: string[], from: Date, to: Date): void {
    const bucket = this.bucketId(deviceId, false);
    if (bucket === undefined || !this.slots.enabled || this.closed) return;
    for (const variable of variables) this.summarizeHours(bucket, variable, from.getTime(), to.getTime());
  }

  /** Resolves once the hour summaries queued by earlier downsample queries are made (tests, benches). */
  async summariesDone(): Promise<void> {
    while (this.summarizing) await this.summarizing.catch(() => undefined);
  }

  async lastValue(deviceId: string, variable: string): Promise<StoredRecord | undefined> {
    const bucket = this.bucketId(deviceId, false);
    if (bucket === undefined) return undefined;
    const row = this.q.lastValue.get(bucket, variable.toLowerCase()) as RecordRow | undefined;
    return row && decodeRow(row, deviceId);
  }

  async count(deviceId: string): Promise<number> {
    const bucket = this.bucketId(deviceId, false);
    return bucket === undefined ? 0 : ((this.q.count.get(bucket) as number | undefined) ?? 0);
  }

  // ---- plumbing -------------------------------------------------------------------------

  private bucketId(deviceId: string, create: boolean): number | undefined {
    const cached = this.buckets.get(deviceId);
    if (cached !== undefined) return cached;
    if (create) this.q.createBucket.run(deviceId);
    const id = this.q.bucketOf.get(deviceId) as number | undefined;
    if (id !== undefined) this.buckets.set(deviceId, id);
    return id;
  }

  private background(work: Promise<unknown>): void {
    work.catch((error: unknown) => {
      if (!this.closed) this.onError(error);
    });
  }

  /** Commits what is waiting, stops background work, and closes the connection if `open` made it. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.batcher.drained();
    this.closed = true;
    clearInterval(this.sweep);
    await this.writer.close();
    if (this.ownsDb) this.db.close();
  }
}

function checkLimit(value: number | null | undefined, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(`${name} must be a positive integer or null`);
  return value;
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

const EMPTY: SlotSummary = { n: 0, mn: Infinity, mx: -Infinity, total: 0, first: Infinity, last: -Infinity };

function summary(row: DownsampleRow): SlotSummary {
  return row.n === 0 ? EMPTY : { n: row.n, mn: row.mn!, mx: row.mx!, total: row.total, first: row.first!, last: row.last! };
}

function merge(a: SlotSummary, b: SlotSummary): SlotSummary {
  if (b.n === 0) return a;
  if (a.n === 0) return b;
  return { n: a.n + b.n, mn: Math.min(a.mn, b.mn), mx: Math.max(a.mx, b.mx), total: a.total + b.total, first: Math.min(a.first, b.first), last: Math.max(a.last, b.last) };
}
