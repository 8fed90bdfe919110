// Runs INSIDE the parser isolate: parser_globals.ts sends this function's source text there.
// It must stay self-contained (no imports, no references to anything outside its body).

/**
 * The part of Node's `Buffer` that TagoIO parsers lean on (their examples decode uplinks with
 * `Buffer.from(value, "hex")` and `readInt16BE`...), plus `atob`/`btoa`. A bare V8 isolate has
 * neither, nor TextEncoder, so the codecs are written out here. Semantics follow Node's: lenient
 * hex and base64 decoding, U+FFFD for malformed UTF-8, `slice` returning a view.
 */
export function makeBuffer() {
  const HEX_DIGITS = "0123456789abcdef";
  const BASE64_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const base64Values: Record<string, number> = { "-": 62, _: 63 };
  for (let i = 0; i < BASE64_DIGITS.length; i++) base64Values[BASE64_DIGITS[i]!] = i;

  type Encoding = "utf8" | "hex" | "base64" | "base64url" | "ascii" | "latin1" | "utf16le";

  function encodingOf(name: unknown): Encoding {
    const lower = name === undefined || name === null ? "utf8" : String(name).toLowerCase();
    switch (lower) {
      case "utf8":
      case "utf-8":
        return "utf8";
      case "hex":
      case "base64":
      case "base64url":
      case "ascii":
      case "latin1":
      case "utf16le":
        return lower;
      case "binary":
        return "latin1";
      case "ucs2":
      case "ucs-2":
      case "utf-16le":
        return "utf16le";
      default:
        throw new TypeError(`Unknown encoding: ${String(name)}`);
    }
  }

  function hexValue(code: number): number {
    if (code >= 48 && code <= 57) return code - 48;
    if (code >= 97 && code <= 102) return code - 87;
    if (code >= 65 && code <= 70) return code - 55;
    return -1;
  }

  function utf8Bytes(text: string): number[] {
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
        } else {
          code = 0xfffd; // a lone surrogate has no UTF-8 form
        }
      }
      if (code < 0x80) bytes.push(code);
      else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
      else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
      else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    }
    return bytes;
  }

  /** Code units to a string, in slices: fromCharCode with one huge argument list overflows the stack. */
  function unitsToString(units: number[]): string {
    let text = "";
    for (let i = 0; i < units.length; i += 4096) text += String.fromCharCode.apply(null, units.slice(i, i + 4096));
    return text;
  }

  function utf8Text(bytes: Uint8Array, start: number, end: number): string {
    const units: number[] = [];
    let i = start;
    while (i < end) {
      const lead = bytes[i]!;
      if (lead < 0x80) {
        units.push(lead);
        i++;
        continue;
      }
      let needed: number;
      let code: number;
      if (lead >= 0xc2 && lead <= 0xdf) [needed, code] = [1, lead & 0x1f];
      else if (lead >= 0xe0 && lead <= 0xef) [needed, code] = [2, lead & 0x0f];
      else if (lead >= 0xf0 && lead <= 0xf4) [needed, code] = [3, lead & 0x07];
      else {
        units.push(0xfffd);
        i++;
        continue;
      }
      // The bounds on the second byte exclude overlong forms, surrogates and code points past U+10FFFF.
      let lower = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
      let upper = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
      let taken = 1;
      while (taken <= needed) {
        const next = i + taken < end ? bytes[i + taken]! : -1;
        if (next < lower || next > upper) break;
        code = (code << 6) | (next & 0x3f);
        lower = 0x80;
        upper = 0xbf;
        taken++;
      }
      i += taken;
      if (taken <= needed) {
        units.push(0xfffd); // truncated sequence: one replacement, then the offending byte is read afresh
        continue;
      }
      if (code > 0xffff) {
        code -= 0x10000;
        units.push(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
      } else {
        units.push(code);
      }
    }
    return unitsToString(units);
  }

  function hexBytes(text: string): number[] {
    const bytes: number[] = [];
    for (let i = 0; i + 1 < text.length; i += 2) {
      const high = hexValue(text.charCodeAt(i));
      const low = hexValue(text.charCodeAt(i + 1));
      if (high < 0 || low < 0) break; // Node stops at the first pair that is not hex
      bytes.push(high * 16 + low);
    }
    return bytes;
  }

  function base64Bytes(text: string): number[] {
    const bytes: number[] = [];
    let bits = 0;
    let buffered = 0;
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (char === "=") break;
      const value = base64Values[char];
      if (value === undefined) continue; // whitespace and stray characters are skipped, as Node does
      buffered = (buffered << 6) | value;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes.push((buffered >> bits) & 0xff);
        buffered &= (1 << bits) - 1;
      }
    }
    return bytes;
  }

  function base64Text(bytes: Uint8Array, start: number, end: number, url: boolean): string {
    const digits = url ? BASE64_DIGITS.slice(0, 62) + "-_" : BASE64_DIGITS;
    let text = "";
    for (let i = start; i < end; i += 3) {
      const chunk = (bytes[i]! << 16) | ((i + 1 < end ? bytes[i + 1]! : 0) << 8) | (i + 2 < end ? bytes[i + 2]! : 0);
      text += digits[(chunk >> 18) & 63]! + digits[(chunk >> 12) & 63]!;
      text += i + 1 < end ? digits[(chunk >> 6) & 63]! : url ? "" : "=";
      text += i + 2 < end ? digits[chunk & 63]! : url ? "" : "=";
    }
    return text;
  }

  function encode(text: string, encoding: Encoding): number[] {
    switch (encoding) {
      case "utf8":
        return utf8Bytes(text);
      case "hex":
        return hexBytes(text);
      case "base64":
      case "base64url":
        return base64Bytes(text);
      case "utf16le": {
        const bytes: number[] = [];
        for (let i = 0; i < text.length; i++) bytes.push(text.charCodeAt(i) & 0xff, text.charCodeAt(i) >> 8);
        return bytes;
      }
      default: {
        const bytes: number[] = [];
        for (let i = 0; i < text.length; i++) bytes.push(text.charCodeAt(i) & 0xff);
        return bytes;
      }
    }
  }

  function decode(bytes: Uint8Array, encoding: Encoding, start: number, end: number): string {
    switch (encoding) {
      case "utf8":
        return utf8Text(bytes, start, end);
      case "hex": {
        let text = "";
        for (let i = start; i < end; i++) text += HEX_DIGITS[bytes[i]! >> 4]! + HEX_DIGITS[bytes[i]! & 15]!;
        return text;
      }
      case "base64":
      case "base64url":
        return base64Text(bytes, start, end, encoding === "base64url");
      case "utf16le": {
        const units: number[] = [];
        for (let i = start; i + 1 < end; i += 2) units.push(bytes[i]! | (bytes[i + 1]! << 8));
        return unitsToString(units);
      }
      default: {
        const mask = encoding === "ascii" ? 0x7f : 0xff;
        const units: number[] = [];
        for (let i = start; i < end; i++) units.push(bytes[i]! & mask);
        return unitsToString(units);
      }
    }
  }

  function checkOffset(buffer: Uint8Array, offset: unknown, size: number): number {
    const at = offset === undefined ? 0 : offset;
    if (typeof at !== "number" || !Number.isInteger(at) || at < 0 || at + size > buffer.length) {
      throw new RangeError(`The value of "offset" is out of range. It must be >= 0 and <= ${buffer.length - size}. Received ${String(at)}`);
    }
    return at;
  }

  function checkByteLength(byteLength: unknown): number {
    if (typeof byteLength !== "number" || !Number.isInteger(byteLength) || byteLength < 1 || byteLength > 6) {
      throw new RangeError(`The value of "byteLength" is out of range. It must be >= 1 and <= 6. Received ${String(byteLength)}`);
    }
    return byteLength;
  }

  const view = (buffer: Uint8Array) => new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const clamp = (value: unknown, fallback: number, max: number) =>
    value === undefined ? fallback : Math.max(0, Math.min(max, Math.trunc(Number(value)) || 0));

  class Buffer extends Uint8Array {
    static override from(value: unknown, encodingOrOffset?: unknown, length?: number): Buffer {
      if (typeof value === "string") return new Buffer(encode(value, encodingOf(encodingOrOffset)));
      if (value instanceof ArrayBuffer) {
        const offset = encodingOrOffset === undefined ? 0 : Number(encodingOrOffset);
        return new Buffer(value, offset, length === undefined ? value.byteLength - offset : length);
      }
      if (value instanceof DataView) return new Buffer(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      if (typeof value === "object" && value !== null) {
        const data = (value as { type?: unknown; data?: unknown }).type === "Buffer" ? (value as { data: unknown }).data : value;
        if (Array.isArray(data) || ArrayBuffer.isView(data) || typeof (data as { length?: unknown }).length === "number") {
          return new Buffer(data as ArrayLike<number>);
        }
      }
      throw new TypeError("The first argument must be of type string, Buffer, ArrayBuffer, Array, or Array-like Object.");
    }

    static alloc(size: number, fill?: unknown, encoding?: unknown): Buffer {
      const buffer = new Buffer(size);
      if (typeof fill === "number") buffer.fill(fill & 0xff);
      else if (typeof fill === "string" && fill !== "") {
        const pattern = encode(fill, encodingOf(encoding));
        for (let i = 0; pattern.length > 0 && i < size; i++) buffer[i] = pattern[i % pattern.length]!;
      }
      return buffer;
    }

    static allocUnsafe(size: number): Buffer {
      return new Buffer(size);
    }

    static allocUnsafeSlow(size: number): Buffer {
      return new Buffer(size);
    }

    static isBuffer(value: unknown): boolean {
      return value instanceof Buffer;
    }

    static isEncoding(name: unknown): boolean {
      try {
        encodingOf(name);
        return typeof name === "string";
      } catch {
        return false;
      }
    }

    static byteLength(value: unknown, encoding?: unknown): number {
      if (typeof value === "string") return encode(value, encodingOf(encoding)).length;
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
      throw new TypeError('The "string" argument must be of type string, Buffer, or ArrayBuffer.');
    }

    static concat(list: readonly Uint8Array[], totalLength?: number): Buffer {
      const total = totalLength ?? list.reduce((sum, item) => sum + item.length, 0);
      const joined = new Buffer(total);
      let at = 0;
      for (const item of list) {
        if (at >= total) break;
        const part = item.length > total - at ? item.subarray(0, total - at) : item;
        joined.set(part, at);
        at += part.length;
      }
      return joined;
    }

    static compare(a: Uint8Array, b: Uint8Array): number {
      const length = Math.min(a.length, b.length);
      for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
      return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
    }

    override toString(encoding?: unknown, start?: unknown, end?: unknown): string {
      const from = clamp(start, 0, this.length);
      const to = clamp(end, this.length, this.length);
      return to <= from ? "" : decode(this, encodingOf(encoding), from, to);
    }

    toJSON(): { type: "Buffer"; data: number[] } {
      return { type: "Buffer", data: Array.prototype.slice.call(this) as number[] };
    }

    equals(other: Uint8Array): boolean {
      return Buffer.compare(this, other) === 0;
    }

    compare(other: Uint8Array): number {
      return Buffer.compare(this, other);
    }

    /** Node's slice is a view on the same memory, unlike Uint8Array's copy. */
    override slice(start?: number, end?: number): Buffer {
      return this.subarray(start, end) as Buffer;
    }

    copy(target: Uint8Array, targetStart = 0, sourceStart = 0, sourceEnd = this.length): number {
      const part = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
      target.set(part, targetStart);
      return part.length;
    }

    readUInt8(offset?: number): number {
      return this[checkOffset(this, offset, 1)]!;
    }
    readInt8(offset?: number): number {
      const value = this.readUInt8(offset);
      return value & 0x80 ? value - 0x100 : value;
    }
    readUInt16BE(offset?: number): number {
      const at = checkOffset(this, offset, 2);
      return this[at]! * 0x100 + this[at + 1]!;
    }
    readUInt16LE(offset?: number): number {
      const at = checkOffset(this, offset, 2);
      return this[at]! + this[at + 1]! * 0x100;
    }
    readInt16BE(offset?: number): number {
      const value = this.readUInt16BE(offset);
      return value & 0x8000 ? value - 0x10000 : value;
    }
    readInt16LE(offset?: number): number {
      const value = this.readUInt16LE(offset);
      return value & 0x8000 ? value - 0x10000 : value;
    }
    readUInt32BE(offset?: number): number {
      return view(this).getUint32(checkOffset(this, offset, 4));
    }
    readUInt32LE(offset?: number): number {
      return view(this).getUint32(checkOffset(this, offset, 4), true);
    }
    readInt32BE(offset?: number): number {
      return view(this).getInt32(checkOffset(this, offset, 4));
    }
    readInt32LE(offset?: number): number {
      return view(this).getInt32(checkOffset(this, offset, 4), true);
    }
    readUIntBE(offset: number, byteLength: number): number {
      const size = checkByteLength(byteLength);
      const at = checkOffset(this, offset, size);
      let value = 0;
      for (let i = 0; i < size; i++) value = value * 0x100 + this[at + i]!;
      return value;
    }
    readUIntLE(offset: number, byteLength: number): number {
      const size = checkByteLength(byteLength);
      const at = checkOffset(this, offset, size);
      let value = 0;
      for (let i = size - 1; i >= 0; i--) value = value * 0x100 + this[at + i]!;
      return value;
    }
    readIntBE(offset: number, byteLength: number): number {
      const value = this.readUIntBE(offset, byteLength);
      const half = 2 ** (8 * byteLength - 1);
      return value >= half ? value - 2 * half : value;
    }
    readIntLE(offset: number, byteLength: number): number {
      const value = this.readUIntLE(offset, byteLength);
      const half = 2 ** (8 * byteLength - 1);
      return value >= half ? value - 2 * half : value;
    }
    readFloatBE(offset?: number): number {
      return view(this).getFloat32(checkOffset(this, offset, 4));
    }
    readFloatLE(offset?: number): number {
      return view(this).getFloat32(checkOffset(this, offset, 4), true);
    }
    readDoubleBE(offset?: number): number {
      return view(this).getFloat64(checkOffset(this, offset, 8));
    }
    readDoubleLE(offset?: number): number {
      return view(this).getFloat64(checkOffset(this, offset, 8), true);
    }
    readBigUInt64BE(offset?: number): bigint {
      return view(this).getBigUint64(checkOffset(this, offset, 8));
    }
    readBigUInt64LE(offset?: number): bigint {
      return view(this).getBigUint64(checkOffset(this, offset, 8), true);
    }
    readBigInt64BE(offset?: number): bigint {
      return view(this).getBigInt64(checkOffset(this, offset, 8));
    }
    readBigInt64LE(offset?: number): bigint {
      return view(this).getBigInt64(checkOffset(this, offset, 8), true);
    }

    writeUInt8(value: number, offset?: number): number {
      const at = checkOffset(this, offset, 1);
      this[at] = value;
      return at + 1;
    }
    writeInt8(value: number, offset?: number): number {
      return this.writeUInt8(value & 0xff, offset);
    }
    writeUInt16BE(value: number, offset?: number): number {
      const at = checkOffset(this, offset, 2);
      view(this).setUint16(at, value & 0xffff);
      return at + 2;
    }
    writeUInt16LE(value: number, offset?: number): number {
      const at = checkOffset(this, offset, 2);
      view(this).setUint16(at, value & 0xffff, true);
      return at + 2;
    }
    writeInt16BE(value: number, offset?: number): number {
      return this.writeUInt16BE(value, offset);
    }
    writeInt16LE(value: number, offset?: number): number {
      return this.writeUInt16LE(value, offset);
    }
    writeUInt32BE(value: number, offset?: number): number {
      const at = checkOffset(this, offset, 4);
      view(this).setUint32(at, value >>> 0);
      return at + 4;
    }
    writeUInt32LE(value: number, offset?: number): number {
      const at = checkOffset(this, offset, 4);
      view(this).setUint32(at, value >>> 0, true);
      return at + 4;
    }
    writeInt32BE(value: number, offset?: number): number {
      return this.writeUInt32BE(value, offset);
    }
    writeInt32LE(value: number, offset?: number): number {
      return this.writeUInt32LE(value, offset);
    }
    writeFloatBE(value: number, offset?: number): number {
      const at = checkOffset(this, offset, 4);
      view(this).setFloat32(at, value);
      return at + 4;
    }
    writeFloatLE(value: number, offset?: number): number {
      const at = checkOffset(this, offset, 4);
      view(this).setFloat32(at, value, true);
      return at + 4;
    }
    writeDoubleBE(value: number, offset?: number): number {
      const at = checkOffset(this, offset, 8);
      view(this).setFloat64(at, value);
      return at + 8;
    }
    writeDoubleLE(value: number, offset?: number): number {
      const at = checkOffset(this, offset, 8);
      view(this).setFloat64(at, value, true);
      return at + 8;
    }
  }

  // Node spells every UInt method a second way too (readUint16BE, writeUint8...).
  const prototype = Buffer.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(Buffer.prototype)) {
    if (name.includes("UInt")) {
      Object.defineProperty(Buffer.prototype, name.replace("UInt", "Uint"), { value: prototype[name], writable: true, configurable: true });
    }
  }

  function atob(text: unknown): string {
    return unitsToString(base64Bytes(String(text)));
  }

  function btoa(text: unknown): string {
    const source = String(text);
    const bytes = new Uint8Array(source.length);
    for (let i = 0; i < source.length; i++) {
      const code = source.charCodeAt(i);
      if (code > 0xff) {
        // Node throws a DOMException by this name; a bare isolate has no DOMException.
        const error = new Error("Invalid character");
        error.name = "InvalidCharacterError";
        throw error;
      }
      bytes[i] = code;
    }
    return base64Text(bytes, 0, bytes.length, false);
  }

  return { Buffer, atob, btoa };
}
