import { ENVELOPE_VERSION } from "./envelope.js";

/**
 * Several envelopes for one subject in one NATS message. A node coalesces the envelopes it
 * sends to the same subject one after the other (node.ts): one NATS message costs the client
 * library and the server far more than the bytes it carries, and a device's burst goes to one
 * topic. Layout: "SB" version(1) count(u16), then per envelope a u32 length and its bytes.
 * A NATS message that is one envelope ("SL") is taken as it is.
 */
const MAGIC_0 = 0x53; // S
const MAGIC_1 = 0x42; // B
export const MAX_BATCH_ENVELOPES = 0xffff;

/**
 * Builds one batch for one subject, envelopes written straight into its buffer (no copy per
 * envelope). `take` gives what to publish: the batch, or the envelope alone when there is one.
 */
export class BatchBuilder {
  private buf: Buffer | undefined;
  private at = 5;
  private count = 0;
  subject: string | undefined;

  /** `capacity`: bytes one batch buffer takes (an envelope larger than that goes alone). */
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  /** Whether an envelope of `size` bytes for `subject` joins this batch (an empty batch takes anything). */
  fits(subject: string, size: number): boolean {
    if (this.count === 0) return true;
    return this.subject === subject && this.count < MAX_BATCH_ENVELOPES && this.at + 4 + size <= this.buf!.length;
  }

  /** Makes room for one envelope of `size` bytes; returns where to write it in `buffer`. */
  reserve(subject: string, size: number): number {
    if (this.count === 0) {
      this.buf = Buffer.allocUnsafe(Math.max(this.capacity, 9 + size));
      this.at = 5;
      this.subject = subject;
    }
    const buf = this.buf!;
    const at = this.at;
    buf[at] = size >>> 24;
    buf[at + 1] = (size >>> 16) & 0xff;
    buf[at + 2] = (size >>> 8) & 0xff;
    buf[at + 3] = size & 0xff;
    this.at = at + 4 + size;
    this.count++;
    return at + 4;
  }

  /** The buffer `reserve` made room in (until `take`). */
  get buffer(): Buffer {
    return this.buf!;
  }

  /** The NATS message to publish (undefined when empty), and the batch starts again. */
  take(): Buffer | undefined {
    if (this.count === 0) return undefined;
    const buf = this.buf!;
    let out: Buffer;
    if (this.count === 1) out = buf.subarray(9, this.at);
    else {
      buf[0] = MAGIC_0;
      buf[1] = MAGIC_1;
      buf[2] = ENVELOPE_VERSION;
      buf.writeUInt16BE(this.count, 3);
      out = buf.subarray(0, this.at);
    }
    this.buf = undefined;
    this.count = 0;
    this.at = 5;
    this.subject = undefined;
    return out;
  }
}

/** A batch of envelopes already encoded (tests; `BatchBuilder` is what the node uses). */
export function encodeBatch(envelopes: Buffer[]): Buffer {
  if (envelopes.length === 1) return envelopes[0]!;
  if (envelopes.length > MAX_BATCH_ENVELOPES) throw new RangeError("too many envelopes in one batch");
  let size = 5;
  for (const e of envelopes) size += 4 + e.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = ENVELOPE_VERSION;
  out.writeUInt16BE(envelopes.length, 3);
  let at = 5;
  for (const e of envelopes) {
    at = out.writeUInt32BE(e.length, at);
    at += e.copy(out, at);
  }
  return out;
}

/**
 * The envelopes in a NATS message (one, unless it is a batch); undefined for a batch whose
 * framing does not add up. The envelopes themselves are checked by `decodeEnvelope`.
 */
export function splitBatch(data: Uint8Array): Uint8Array[] | undefined {
  if (data.length < 2 || data[0] !== MAGIC_0 || data[1] !== MAGIC_1) return [data];
  if (data.length < 5 || data[2] !== ENVELOPE_VERSION) return undefined;
  const count = (data[3]! << 8) | data[4]!;
  const out: Uint8Array[] = [];
  let at = 5;
  for (let i = 0; i < count; i++) {
    if (at + 4 > data.length) return undefined;
    const len = ((data[at]! << 24) >>> 0) + ((data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!);
    at += 4;
    if (len > data.length - at) return undefined;
    out.push(data.subarray(at, at + len));
    at += len;
  }
  return at === data.length && count > 0 ? out : undefined;
}
