/**
 * The records of an insert commit in COPY's binary format (PostgreSQL docs, "COPY", "Binary
 * Format"): each field its length and its bytes in the column's binary form, written into a few
 * large buffers. The text format turned every number into a string and back (seq, time, value:
 * a string each per record in Node, a parse each in PostgreSQL); here a number is its 8 bytes.
 *
 * Column types are data_records' (migration 3): seq, bucket, time and created_at BIGINT, vtype
 * SMALLINT, num, lat and lng DOUBLE PRECISION, the rest TEXT.
 */
import { ValueType } from "../sqlite/record_codec.js";
import type { NormalizedRecord } from "../types.js";

/** What goes into one buffer before another starts (each buffer is one CopyData message, two socket writes). */
const CHUNK_BYTES = 256 * 1024;
const FIELDS = 13;
const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const TWO_32 = 2 ** 32;

export interface CopyCall {
  bucket: number;
  records: NormalizedRecord[];
}

/** Header, one tuple per record (columns in insert_commit's COLUMNS order), trailer. Throws before any byte is sent if a record cannot be encoded. */
export function copyBinary(calls: CopyCall[], seqs: number[][], createdAt: number): Buffer[] {
  const w = new Writer();
  w.pos += SIGNATURE.copy(w.buf, w.pos);
  w.int32(0); // flags: no OIDs
  w.int32(0); // header extension length
  for (let i = 0; i < calls.length; i++) {
    const { bucket, records } = calls[i]!;
    const callSeqs = seqs[i]!;
    for (let j = 0; j < records.length; j++) {
      const r = records[j]!;
      w.int16(FIELDS);
      w.int8(callSeqs[j]!);
      w.int8(bucket);
      w.text(r.variable);
      w.int8(r.time.getTime());
      const v = r.value;
      switch (typeof v) {
        case "number":
          w.int2(ValueType.Number);
          w.float8(v);
          w.null();
          break;
        case "boolean":
          w.int2(ValueType.Boolean);
          w.float8(v ? 1 : 0);
          w.null();
          break;
        case "string":
          w.int2(ValueType.String);
          w.null();
          w.text(v);
          break;
        default:
          // Validation lets nothing else through; a caller that bypassed it gets a clear error.
          if (v !== null) throw new TypeError(`record value of type ${typeof v} cannot be stored`);
          w.int2(ValueType.None);
          w.null();
          w.null();
      }
      w.text(r.unit);
      w.text(r.group);
      if (r.location) {
        w.float8(r.location.lat);
        w.float8(r.location.lng);
      } else {
        w.null();
        w.null();
      }
      w.text(r.metadata === null ? null : JSON.stringify(r.metadata));
      w.int8(createdAt);
    }
  }
  w.int16(-1);
  return w.done();
}

/**
 * Appends to the current buffer; each write first makes room (a new buffer when it might not
 * fit: a tuple may span CopyData messages).
 */
class Writer {
  buf = Buffer.allocUnsafe(CHUNK_BYTES);
  pos = 0;
  private readonly full: Buffer[] = [];

  room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    if (this.pos > 0) this.full.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.pos = 0;
  }

  int16(n: number): void {
    this.room(2);
    this.buf.writeInt16BE(n, this.pos);
    this.pos += 2;
  }

  int32(n: number): void {
    this.room(4);
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4;
  }

  null(): void {
    this.int32(-1);
  }

  /** A SMALLINT field: its length, then its two bytes. */
  int2(n: number): void {
    this.room(6);
    this.int32(2);
    this.int16(n);
  }

  /** A BIGINT from a safe integer (negative ones too: two's complement across both halves). */
  int8(n: number): void {
    if (!Number.isSafeInteger(n)) throw new TypeError(`${n} is not an integer PostgreSQL's BIGINT can take from here`);
    const high = Math.floor(n / TWO_32);
    this.room(12);
    this.int32(8);
    this.buf.writeInt32BE(high, this.pos);
    this.buf.writeUInt32BE(n - high * TWO_32, this.pos + 4);
    this.pos += 8;
  }

  float8(n: number): void {
    this.room(12);
    this.int32(8);
    this.buf.writeDoubleBE(n, this.pos);
    this.pos += 8;
  }

  /** UTF-8 bytes, at most three per UTF-16 unit: room for that, then the length written once known. */
  text(s: string | null): void {
    if (s === null) {
      this.null();
      return;
    }
    this.room(4 + 3 * s.length);
    const bytes = this.buf.write(s, this.pos + 4, "utf8");
    this.buf.writeInt32BE(bytes, this.pos);
    this.pos += 4 + bytes;
  }

  done(): Buffer[] {
    if (this.pos > 0) this.full.push(this.buf.subarray(0, this.pos));
    return this.full;
  }
}
