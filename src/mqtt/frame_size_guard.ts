/**
 * Follows MQTT framing (fixed header + variable-length Remaining Length) over the raw byte
 * stream, so a packet above the size limit is refused from its first bytes instead of being
 * buffered whole by the decoder.
 */
export class FrameSizeGuard {
  private remaining = 0;
  /** 0: expecting a fixed header byte; 1..4: reading Remaining Length bytes. */
  private stage = 0;
  private length = 0;
  private multiplier = 1;

  constructor(private readonly maxPacketSize: number) {}

  /** Returns false as soon as a packet in `chunk` announces a size above the limit. */
  accept(chunk: Buffer): boolean {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        this.remaining -= take;
        i += take;
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
        // A fifth length byte is malformed; the decoder reports that, we just stop following.
        if (++this.stage > 4) return true;
        continue;
      }
      const total = 1 + this.stage + this.length;
      if (total > this.maxPacketSize) return false;
      this.remaining = this.length;
      this.stage = 0;
    }
    return true;
  }
}
