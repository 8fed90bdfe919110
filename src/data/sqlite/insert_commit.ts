import type { Db } from "../../store/sqlite/open.js";
import { writeTransaction } from "../../store/sqlite/open.js";
import type { NormalizedRecord } from "../types.js";
import { Collector, LastValues } from "./last_values.js";
import { insertParams } from "./record_codec.js";

/** One call of a commit: records for one bucket. */
export interface CommitCall {
  bucket: number;
  records: NormalizedRecord[];
}

/** What a commit did: each call's record seqs, in order, and each bucket's size after it. */
export interface CommitOutcome {
  seqs: number[][];
  sizes: { bucket: number; records: number; retentionRecords: number | null }[];
}

/**
 * The insert transaction itself, run where the store's writes run (the event loop, or the
 * writer thread of bucket_writer.ts): the records, their buckets' counts, and `data_last`
 * folded once per variable.
 */
export class InsertCommitter {
  private readonly last: LastValues;
  private readonly q;
  private readonly transaction: (calls: CommitCall[], createdAt: number) => CommitOutcome;

  constructor(db: Db) {
    this.last = new LastValues(db);
    this.q = {
      insert: db.prepare(
        "INSERT INTO data_records (bucket, variable, time, vtype, value, unit, grp, lat, lng, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      addCount: db.prepare("UPDATE data_buckets SET records = records + ? WHERE id = ? RETURNING records, retention_records"),
    };
    this.transaction = writeTransaction(db, (calls: CommitCall[], createdAt: number) => this.run(calls, createdAt));
  }

  /** Stores every call in one transaction, or throws having stored none. */
  commit(calls: CommitCall[], createdAt: number): CommitOutcome {
    return this.transaction(calls, createdAt);
  }

  private run(calls: CommitCall[], createdAt: number): CommitOutcome {
    const collector = new Collector();
    const added = new Map<number, number>();
    const seqs = calls.map(({ bucket, records }) => {
      added.set(bucket, (added.get(bucket) ?? 0) + records.length);
      return records.map((record) => {
        const seq = Number(this.q.insert.run(...insertParams(bucket, record, createdAt)).lastInsertRowid);
        collector.add(bucket, record.variable, seq, record.time.getTime(), record.value !== null, record.location !== null);
        return seq;
      });
    });
    this.last.fold(collector);
    const sizes = [...added].map(([bucket, n]) => {
      const after = this.q.addCount.get(n, bucket) as { records: number; retention_records: number | null } | undefined;
      // The device was deleted while these records were on their way: they have nowhere to go.
      if (!after) throw new Error("the device's bucket was removed");
      return { bucket, records: after.records, retentionRecords: after.retention_records };
    });
    return { seqs, sizes };
  }
}
