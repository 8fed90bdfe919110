/**
 * The insert transaction in PostgreSQL: the batch's records, their buckets' counts and
 * `data_last`, committed together, in as few round trips as the method allows: each one is a
 * write and a wake-up on both sides, and a commit used seven (BEGIN, lock, seqs, rows,
 * data_last, counts, COMMIT). Now BEGIN, the buckets' locks and the seqs go as one simple-protocol
 * query (integers only, nothing to bind); the rows, data_last and the counts as one statement
 * (`unnest`) or as COPY and one statement (`copy`); then COMMIT.
 *
 * Seqs are taken from the sequence first, so the rows can go by COPY, which returns nothing, as
 * well as by INSERT; they come back as runs of consecutive values (one row, unless another
 * session took values meanwhile) rather than one row per record.
 *
 * Two ways to send the rows (bench/pg_insert.ts measures them; docs/benchmarks.md has the
 * figures): `unnest`, one INSERT ... SELECT FROM unnest() of one array parameter per column,
 * in the same statement as data_last and the counts (data-modifying WITH); and `copy`, COPY
 * ... FROM STDIN in text format.
 */
import { finished } from "node:stream/promises";
import copyStreams from "pg-copy-streams";
import type { Pool, PoolClient } from "../../store/postgres/pool.js";
import { ValueType } from "../sqlite/record_codec.js";
import type { NormalizedRecord } from "../types.js";
import { numberArray, textArray } from "./array_literal.js";
import { Collector, lastParams, upsertLastSql } from "./last_values.js";

export type InsertMethod = "copy" | "unnest";

export interface CommitCall {
  bucket: number;
  records: NormalizedRecord[];
}

export interface CommitOutcome {
  seqs: number[][];
  sizes: { bucket: number; records: number; retentionRecords: number | null }[];
}

/** A bucket named by a call was dropped (the device deleted) while its records were on their way. */
export class BucketGone extends Error {
  constructor(readonly buckets: number[]) {
    super("the device's bucket was removed");
  }
}

const COLUMNS = "seq, bucket, variable, time, vtype, num, str, unit, grp, lat, lng, metadata, created_at";

/** The buckets' counts raised by the commit's records, their new sizes returned; parameters from `$first`. */
const countSql = (first: number) =>
  `UPDATE data_buckets b SET records = b.records + u.n FROM unnest($${first}::bigint[], $${first + 1}::bigint[]) AS u(id, n) WHERE b.id = u.id
   RETURNING b.id AS bucket, b.records, b.retention_records`;

/** copy: data_last and the counts, after the rows went by COPY. */
const FOLD_AND_COUNT = `WITH last AS (${upsertLastSql(1)}) ${countSql(10)}`;

/** unnest: the rows ($1-$13), data_last ($14-$22) and the counts ($23-$24) in one statement. */
const INSERT_FOLD_AND_COUNT = `WITH inserted AS (
    INSERT INTO data_records (${COLUMNS})
    SELECT *, $13::bigint FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::smallint[], $6::float8[], $7::text[], $8::text[],
      $9::text[], $10::float8[], $11::float8[], $12::text[])
  ), last AS (${upsertLastSql(14)}) ${countSql(23)}`;

/**
 * `total` values of the sequence as runs of consecutive ones, in order. One statement draws
 * them all, but other sessions may draw between two of its values, so a run ends there.
 */
const seqRunsSql = (total: number) =>
  `SELECT min(s) AS first, count(*)::int AS n FROM (
     SELECT s, s - row_number() OVER (ORDER BY s) AS run FROM (SELECT nextval('data_records_seq') AS s FROM generate_series(1, ${total})) AS drawn
   ) AS numbered GROUP BY run ORDER BY first`;

interface Result<R> {
  rows: R[];
}

/** One transaction on a connection of `pool`: committed when it resolves, rolled back when it throws. */
export async function commitInserts(pool: Pool, calls: CommitCall[], createdAt: number, method: InsertMethod): Promise<CommitOutcome> {
  const added = new Map<number, number>();
  let total = 0;
  for (const { bucket, records } of calls) {
    added.set(bucket, (added.get(bucket) ?? 0) + records.length);
    total += records.length;
  }
  const buckets = [...added.keys()].sort((a, b) => a - b);
  // Written into the SQL below: only integers may go there.
  for (const b of buckets) if (!Number.isSafeInteger(b)) throw new TypeError(`bucket id ${b} is not an integer`);
  if (!Number.isSafeInteger(total)) throw new TypeError(`record count ${total} is not an integer`);
  const client = await pool.connect();
  try {
    // The buckets' rows locked first, in id order: concurrent commits (other nodes) on the same
    // buckets queue here, and then never meet in data_last in another order (no deadlock).
    // A simple-protocol query with several statements answers with one result each; pg's
    // typings know only the single-statement form.
    const results = (await client.query(
      `BEGIN; SELECT id FROM data_buckets WHERE id IN (${buckets.join(",")}) ORDER BY id FOR UPDATE; ${seqRunsSql(total)}`,
    )) as unknown as [unknown, Result<{ id: number }>, Result<{ first: number; n: number }>];
    const locked = results[1].rows;
    if (locked.length !== buckets.length) {
      const have = new Set(locked.map((r) => r.id));
      throw new BucketGone(buckets.filter((b) => !have.has(b)));
    }
    const collector = new Collector();
    const seqs = assignSeqs(calls, results[2].rows, collector);
    const counts = [numberArray(buckets), numberArray(buckets.map((b) => added.get(b)!))];
    let sizes: { bucket: number; records: number; retention_records: number | null }[];
    if (method === "copy") {
      await copyRows(client, calls, seqs, createdAt);
      sizes = (await client.query(FOLD_AND_COUNT, [...lastParams(collector), ...counts])).rows;
    } else {
      sizes = (await client.query(INSERT_FOLD_AND_COUNT, [...rowColumns(calls, seqs), createdAt, ...lastParams(collector), ...counts])).rows;
    }
    await client.query("COMMIT");
    return { seqs, sizes: sizes.map((s) => ({ bucket: s.bucket, records: s.records, retentionRecords: s.retention_records })) };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Each record its seq, in call order, from the runs drawn; each record offered to `collector`. */
function assignSeqs(calls: CommitCall[], runs: { first: number; n: number }[], collector: Collector): number[][] {
  let run = 0;
  let next = runs[0]?.first ?? 0;
  let left = runs[0]?.n ?? 0;
  return calls.map(({ bucket, records }) => {
    const seqs = new Array<number>(records.length);
    for (let j = 0; j < records.length; j++) {
      if (left === 0) {
        const r = runs[++run];
        if (r === undefined) throw new Error("the sequence gave fewer values than asked");
        next = r.first;
        left = r.n;
      }
      const seq = next++;
      left--;
      seqs[j] = seq;
      const record = records[j]!;
      collector.add(bucket, record.variable, seq, record.time.getTime(), record.value !== null, record.location !== null);
    }
    return seqs;
  });
}

/** unnest's twelve row parameters (array literals); num holds numbers and booleans (0/1), str strings. */
function rowColumns(calls: CommitCall[], seqs: number[][]): string[] {
  const seq: number[] = [], bucket: number[] = [], time: number[] = [], vtype: number[] = [], num: (number | null)[] = [], lat: (number | null)[] = [], lng: (number | null)[] = [];
  const variable: string[] = [], str: (string | null)[] = [], unit: (string | null)[] = [], grp: string[] = [], metadata: (string | null)[] = [];
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]!;
    const callSeqs = seqs[i]!;
    for (let j = 0; j < call.records.length; j++) {
      const r = call.records[j]!;
      seq.push(callSeqs[j]!);
      bucket.push(call.bucket);
      variable.push(r.variable);
      time.push(r.time.getTime());
      const v = r.value;
      if (typeof v === "string") {
        vtype.push(ValueType.String);
        num.push(null);
        str.push(v);
      } else {
        vtype.push(valueType(v));
        num.push(v === null ? null : typeof v === "boolean" ? (v ? 1 : 0) : v);
        str.push(null);
      }
      unit.push(r.unit);
      grp.push(r.group);
      lat.push(r.location?.lat ?? null);
      lng.push(r.location?.lng ?? null);
      metadata.push(r.metadata === null ? null : JSON.stringify(r.metadata));
    }
  }
  return [numberArray(seq), numberArray(bucket), textArray(variable), numberArray(time), numberArray(vtype), numberArray(num), textArray(str),
    textArray(unit), textArray(grp), numberArray(lat), numberArray(lng), textArray(metadata)];
}

/** As record_codec's encodeValue, without the pair it allocates per record. */
function valueType(value: NormalizedRecord["value"]): ValueType {
  switch (typeof value) {
    case "number":
      return ValueType.Number;
    case "string":
      return ValueType.String;
    case "boolean":
      return ValueType.Boolean;
    default:
      if (value === null) return ValueType.None;
      // Validation lets nothing else through; a caller that bypassed it gets a clear error.
      throw new TypeError(`record value of type ${typeof value} cannot be stored`);
  }
}

/** COPY's text format: `\N` for NULL; backslash, tab, newline and carriage return escaped. */
function text(value: string | null): string {
  if (value === null) return "\\N";
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r")) : value;
}

/**
 * Chunks of COPY data: each is two socket writes (a CopyData header, then the chunk), so a
 * typical commit (hundreds to a few thousand records of ~100 bytes) goes as one.
 */
const COPY_CHUNK_CHARS = 256 * 1024;

async function copyRows(client: PoolClient, calls: CommitCall[], seqs: number[][], createdAt: number): Promise<void> {
  // Encoded whole before COPY starts: a record that cannot be encoded throws here, not halfway
  // through a COPY the connection would then wait on. Bounded by the batch (maxBatchRecords).
  const chunks = copyText(calls, seqs, createdAt);
  const stream = client.query(copyStreams.from(`COPY data_records (${COLUMNS}) FROM STDIN`));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  // Rejects if PostgreSQL refused the data (the stream errors), resolves once COPY completed.
  await finished(stream);
}

function copyText(calls: CommitCall[], seqs: number[][], createdAt: number): string[] {
  const created = String(createdAt);
  const chunks: string[] = [];
  let out = "";
  for (let i = 0; i < calls.length; i++) {
    const { bucket, records } = calls[i]!;
    const b = String(bucket);
    for (let j = 0; j < records.length; j++) {
      const r = records[j]!;
      const v = r.value;
      const value = typeof v === "string" ? `${ValueType.String}\t\\N\t${text(v)}`
        : `${valueType(v)}\t${v === null ? "\\N" : typeof v === "boolean" ? (v ? "1" : "0") : String(v)}\t\\N`;
      const location = r.location ? `${r.location.lat}\t${r.location.lng}` : "\\N\t\\N";
      out += `${seqs[i]![j]}\t${b}\t${text(r.variable)}\t${r.time.getTime()}\t${value}\t${text(r.unit)}\t${text(r.group)}\t${location}\t${text(r.metadata === null ? null : JSON.stringify(r.metadata))}\t${created}\n`;
      if (out.length >= COPY_CHUNK_CHARS) {
        chunks.push(out);
        out = "";
      }
    }
  }
  if (out) chunks.push(out);
  return chunks;
}
