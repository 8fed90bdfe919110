const EMPTY = Buffer.alloc(0);

/**
 * Follows MQTT framing (fixed header byte + 1–4 byte Remaining Length) over the raw byte
 * stream. It refuses a packet above the size limit from its header, before the body is
 * buffered, and it hands on only whole packets, keeping the unfinished tail. Whole packets
 * are what let every connection share one decoder (see packet_decoder.ts) instead of each
 * holding its own, which is most of what an idle connection would otherwise cost.
 */
export class PacketFramer {
  private pending: Buffer[] | undefined;
  /** 0: at a packet boundary; 1–4: reading Remaining Length bytes; 5: inside a body. */
  private stage = 0;
  private remaining = 0;
  private length = 0;
  private multiplier = 1;
  /** A fifth length byte: malformed. From then on bytes pass through for the decoder to reject. */
  private broken = false;

  /** The limit for the packet being read: `firstPacketLimit` until the first header passed. */
  private limit: number;

  /**
   * `firstPacketLimit` bounds the first packet (a CONNECT, sent before any credentials), so
   * what an unauthenticated socket can make us buffer is small whatever `maxPacketSize` is.
   */
  constructor(
    private readonly maxPacketSize: number,
    firstPacketLimit = maxPacketSize,
  ) {
    this.limit = Math.min(firstPacketLimit, maxPacketSize);
  }

  /** True when the next byte pushed is the first byte of a packet. */
  get atPacketStart(): boolean {
    return this.stage === 0 && this.pending === undefined && !this.broken;
  }

  /** The limit in force for the packet being read (for the error message). */
  get currentLimit(): number {
    return this.limit;
  }

  /** Whole packets completed by `chunk` (possibly none), or null when one is over the limit. */
  push(chunk: Buffer): Buffer | null {
    if (this.broken) return chunk;
    let boundary = -1;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.stage === 5) {
        const take = Math.min(this.remaining, n - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) {
          this.stage = 0;
          boundary = i;
        }
        continue;
      }
      const byte = chunk[i++]!;
      if (this.stage === 0) {
        this.stage = 1;
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (byte & 0x80) {
        if (++this.stage > 4) {
          this.broken = true;
          return this.take(chunk, n);
        }
        continue;
      }
      if (1 + this.stage + this.length > this.limit) return null;
      this.limit = this.maxPacketSize;
      if (this.length === 0) {
        this.stage = 0;
        boundary = i;
      } else {
        this.remaining = this.length;
        this.stage = 5;
      }
    }
    if (boundary === -1) {
      (this.pending ??= []).push(chunk);
      return EMPTY;
    }
    return this.take(chunk, boundary);
  }

  private take(chunk: Buffer, boundary: number): Buffer {
    const head = boundary === chunk.length ? chunk : chunk.subarray(0, boundary);
    const out = this.pending ? Buffer.concat([...this.pending, head]) : head;
    this.pending = boundary === chunk.length ? undefined : [chunk.subarray(boundary)];
    return out;
  }
}
