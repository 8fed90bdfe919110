/**
 * The insert transaction in PostgreSQL: the batch's records, their buckets' counts and
 * `data_last`, committed together. Seqs are taken from the sequence first (one round trip for
 * the batch), so the rows can go by COPY, which returns nothing, as well as by INSERT.
 *
 * Two ways to send the rows, both one statement a batch (bench/pg_insert.ts measures them;
 * docs/benchmarks.md has the figures): `copy`, COPY ... FROM STDIN in text format, and
 * `unnest`, one INSERT ... SELECT FROM unnest() of one array parameter per column.
 */
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import copyStreams from "pg-copy-streams";
import type { PoolClient } from "../../store/postgres/pool.js";
import { encodeValue, ValueType } from "../sqlite/record_codec.js";
import type { NormalizedRecord } from "../types.js";
import { Collector, foldLast } from "./last_values.js";

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

/** Runs inside the caller's transaction on `client`. */
export async function commitInserts(client: PoolClient, calls: CommitCall[], createdAt: number, method: InsertMethod): Promise<CommitOutcome> {
  const added = new Map<number, number>();
  let total = 0;
  for (const { bucket, records } of calls) {
    added.set(bucket, (added.get(bucket) ?? 0) + records.length);
    total += records.length;
  }
  const buckets = [...added.keys()].sort((a, b) => a - b);
  // The buckets' rows locked first, in id order: concurrent commits (other nodes) on the same
  // buckets queue here, and then never meet in data_last in another order (no deadlock).
  const locked = (await client.query("SELECT id FROM data_buckets WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", [buckets])).rows as { id: number }[];
  if (locked.length !== buckets.length) {
    const have = new Set(locked.map((r) => r.id));
    throw new BucketGone(buckets.filter((b) => !have.has(b)));
  }
  const first = (await client.query("SELECT nextval('data_records_seq') AS s FROM generate_series(1, $1)", [total])).rows as { s: number }[];
  let next = 0;
  const collector = new Collector();
  const seqs = calls.map(({ bucket, records }) =>
    records.map((r) => {
      const seq = first[next++]!.s;
      collector.add(bucket, r.variable, seq, r.time.getTime(), r.value !== null, r.location !== null);
      return seq;
    }),
  );
  if (method === "copy") await copyRows(client, calls, seqs, createdAt);
  else await unnestRows(client, calls, seqs, createdAt);
  await foldLast(client, collector);
  const sizes = (await client.query(
    `UPDATE data_buckets b SET records = b.records + u.n FROM unnest($1::bigint[], $2::bigint[]) AS u(id, n) WHERE b.id = u.id
     RETURNING b.id AS bucket, b.records, b.retention_records`,
    [buckets, buckets.map((b) => added.get(b)!)],
  )).rows as { bucket: number; records: number; retention_records: number | null }[];
  return { seqs, sizes: sizes.map((s) => ({ bucket: s.bucket, records: s.records, retentionRecords: s.retention_records })) };
}

/** The columns of one record, encoded: num holds numbers and booleans (0/1), str strings. */
function columns(r: NormalizedRecord): [vtype: ValueType, num: number | null, str: string | null, metadata: string | null] {
  const [vtype, value] = encodeValue(r.value);
  return [vtype, vtype === ValueType.String ? null : (value as number | null), vtype === ValueType.String ? (value as string) : null,
    r.metadata === null ? null : JSON.stringify(r.metadata)];
}

async function unnestRows(client: PoolClient, calls: CommitCall[], seqs: number[][], createdAt: number): Promise<void> {
  const cols: unknown[][] = Array.from({ length: 12 }, () => []);
  calls.forEach(({ bucket, records }, i) =>
    records.forEach((r, j) => {
      const [vtype, num, str, metadata] = columns(r);
      const row = [seqs[i]![j], bucket, r.variable, r.time.getTime(), vtype, num, str, r.unit, r.group, r.location?.lat ?? null, r.location?.lng ?? null, metadata];
      for (let k = 0; k < 12; k++) cols[k]!.push(row[k]);
    }),
  );
  await client.query(
    `INSERT INTO data_records (${COLUMNS})
     SELECT *, $13::bigint FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::smallint[], $6::float8[], $7::text[], $8::text[],
       $9::text[], $10::float8[], $11::float8[], $12::text[])`,
    [...cols, createdAt],
  );
}

/** COPY's text format: `\N` for NULL; backslash, tab, newline and carriage return escaped. */
function text(value: string | null): string {
  if (value === null) return "\\N";
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r")) : value;
}
const num = (value: number | null): string => (value === null ? "\\N" : String(value));

async function copyRows(client: PoolClient, calls: CommitCall[], seqs: number[][], createdAt: number): Promise<void> {
  const created = String(createdAt);
  function* lines(): Generator<string> {
    let out = "";
    for (let i = 0; i < calls.length; i++) {
      const { bucket, records } = calls[i]!;
      const b = String(bucket);
      for (let j = 0; j < records.length; j++) {
        const r = records[j]!;
        const [vtype, n, str, metadata] = columns(r);
        out += `${seqs[i]![j]}\t${b}\t${text(r.variable)}\t${r.time.getTime()}\t${vtype}\t${num(n)}\t${text(str)}\t${text(r.unit)}\t${text(r.group)}\t${num(r.location?.lat ?? null)}\t${num(r.location?.lng ?? null)}\t${text(metadata)}\t${created}\n`;
        if (out.length >= 64 * 1024) {
          yield out;
          out = "";
        }
      }
    }
    if (out) yield out;
  }
  const stream = client.query(copyStreams.from(`COPY data_records (${COLUMNS}) FROM STDIN`));
  await pipeline(Readable.from(lines()), stream);
}
