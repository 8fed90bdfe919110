import type { ForwardedProperties, Message, QoS } from "../mqtt/types.js";
import { isValidTopicName } from "../mqtt/topics.js";

/**
 * One MQTT message as it travels between nodes on NATS: a small versioned binary format, so a
 * node of the next version can tell an old message from a new one, and decoding never trusts
 * what it reads (anything may publish on the bus). Layout, big-endian:
 *
 *   "SL" version(1) flags(1)                      flags: qos (bits 0-1), retain (2), expiry (3), publisher (4)
 *   origin: u8 length + UTF-8                    the sending node's instance id (node id + start nonce)
 *   seq: u48                                     per origin, increasing: a node hears a message once
 *   namespace: u16 length + UTF-8
 *   topic: u16 length + UTF-8
 *   [publisher: u32 length + UTF-8]              the publisher's session key, for No Local
 *   [expiry: f64]                                milliseconds left when it was sent
 *   properties: u16 count, then tag(1) + value   1 payload format u8, 2 content type, 3 response topic,
 *                                                4 correlation data (u16 length + bytes each),
 *                                                5 user property (u16 + key, u16 + value)
 *   payload: u32 length + bytes, then nothing
 */
export const ENVELOPE_VERSION = 1;

export interface Envelope {
  origin: string;
  seq: number;
  namespace: string;
  message: Message;
}

export type DecodeResult = { ok: true; envelope: Envelope } | { ok: false; reason: "malformed" | "version" };

const MAGIC_0 = 0x53; // S
const MAGIC_1 = 0x4c; // L
const FLAG_RETAIN = 4;
const FLAG_EXPIRY = 8;
const FLAG_PUBLISHER = 16;
const KNOWN_FLAGS = 3 | FLAG_RETAIN | FLAG_EXPIRY | FLAG_PUBLISHER;

const TAG_PAYLOAD_FORMAT = 1;
const TAG_CONTENT_TYPE = 2;
const TAG_RESPONSE_TOPIC = 3;
const TAG_CORRELATION_DATA = 4;
const TAG_USER_PROPERTY = 5;

/** Encodes `message` as sent now: its expiry becomes the time it has left. */
export function encodeEnvelope(origin: string, seq: number, namespace: string, message: Message, now = Date.now()): Buffer {
  return new EnvelopeWriter(origin).write(seq, namespace, message, now);
}

/** Entries each of the writer's caches keeps before it starts again. */
const WRITER_CACHE_ENTRIES = 10_000;

/**
 * Writes envelopes for one origin, into one buffer sized first. It runs for every message a
 * clustered node accepts, so what repeats is encoded once and kept: the head of the envelope up
 * to its properties (magic, version, origin, a place for the sequence number, namespace and
 * topic) per namespace and topic pair (devices publish to the same few topics), and each
 * publisher's session key. A message is then a handful of byte writes and one copy of its
 * payload, with nothing allocated: `prepare` measures it and keeps what it looked up for the
 * `writeInto` that follows. The caches are bounded by entries, and forgotten all at once when full.
 */
export class EnvelopeWriter {
  private readonly origin: Buffer;
  private readonly heads = new Map<string, Map<string, Buffer>>();
  private headCount = 0;
  private readonly publishers = new Map<string, Buffer>();
  /** Where the sequence number goes in a head. */
  private readonly seqAt: number;
  // What the last `prepare` found, for the `writeInto` right after it.
  private head: Buffer = Buffer.alloc(0);
  private publisherBytes: Buffer | undefined;
  private properties: Buffer | undefined;
  private flags = 0;

  constructor(origin: string) {
    const bytes = Buffer.from(origin, "utf8");
    if (bytes.length > 255) throw new RangeError("origin id longer than 255 bytes");
    this.origin = Buffer.concat([Buffer.from([bytes.length]), bytes]);
    this.seqAt = 4 + this.origin.length;
  }

  write(seq: number, namespace: string, message: Message, now = Date.now()): Buffer {
    const out = Buffer.allocUnsafe(this.prepare(namespace, message));
    this.writeInto(out, 0, seq, message, now);
    return out;
  }

  /** Measures `message`'s envelope (its size is returned) and keeps what `writeInto` needs next. */
  prepare(namespace: string, message: Message): number {
    return this.prepareWith(this.headOf(namespace, message.topic), message);
  }

  /** `prepare` with the head of its namespace and topic (`headFor`) kept by the caller. */
  prepareWith(head: Buffer, message: Message): number {
    const publisher = message.publisher === undefined ? undefined : this.publisher(message.publisher);
    const properties = message.properties ? encodeProperties(message.properties) : undefined;
    let flags = message.qos & 3;
    if (message.retain) flags |= FLAG_RETAIN;
    if (message.expiresAt !== undefined) flags |= FLAG_EXPIRY;
    if (publisher) flags |= FLAG_PUBLISHER;
    this.head = head;
    this.publisherBytes = publisher;
    this.properties = properties;
    this.flags = flags;
    return head.length + (publisher ? publisher.length : 0) + (message.expiresAt !== undefined ? 8 : 0) +
      (properties ? properties.length : 2) + 4 + message.payload.length;
  }

  /**
   * Writes the envelope of the message last given to `prepare` at `at` of `out` (which has the
   * size `prepare` returned free there); returns where it ends.
   */
  writeInto(out: Buffer, at: number, seq: number, message: Message, now?: number): number {
    const head = this.head;
    // TypedArray#set, not Buffer#copy: for a few dozen bytes the latter's argument checks cost more than the copy.
    out.set(head, at);
    out[at + 3] = this.flags;
    let p = at + this.seqAt;
    const hi = Math.floor(seq / 0x1_0000_0000);
    out[p] = (hi >>> 8) & 0xff;
    out[p + 1] = hi & 0xff;
    out[p + 2] = seq >>> 24 & 0xff;
    out[p + 3] = (seq >>> 16) & 0xff;
    out[p + 4] = (seq >>> 8) & 0xff;
    out[p + 5] = seq & 0xff;
    p = at + head.length;
    if (this.publisherBytes) {
      out.set(this.publisherBytes, p);
      p += this.publisherBytes.length;
    }
    // The clock is read only for a message that expires: a default `Date.now()` costs every message.
    if (message.expiresAt !== undefined) p = out.writeDoubleBE(Math.max(0, message.expiresAt - (now ?? Date.now())), p);
    if (this.properties) {
      out.set(this.properties, p);
      p += this.properties.length;
    } else {
      out[p] = 0;
      out[p + 1] = 0;
      p += 2;
    }
    const n = message.payload.length;
    out[p] = n >>> 24;
    out[p + 1] = (n >>> 16) & 0xff;
    out[p + 2] = (n >>> 8) & 0xff;
    out[p + 3] = n & 0xff;
    out.set(message.payload, p + 4);
    return p + 4 + n;
  }

  /** Magic, version, a flags byte, origin, a sequence number's room, namespace and topic each with its u16 length. */
  private headOf(namespace: string, topic: string): Buffer {
    let topics = this.heads.get(namespace);
    if (!topics) {
      topics = new Map();
      this.heads.set(namespace, topics);
    }
    let head = topics.get(topic);
    if (!head) {
      head = this.headFor(namespace, topic);
      if (++this.headCount > WRITER_CACHE_ENTRIES) {
        this.heads.clear();
        this.headCount = 1;
        topics = new Map();
        this.heads.set(namespace, topics);
      }
      topics.set(topic, head);
    }
    return head;
  }

  /** The head of every envelope of `namespace` and `topic`, made anew (`prepareWith`). */
  headFor(namespace: string, topic: string): Buffer {
    return Buffer.concat([Buffer.from([MAGIC_0, MAGIC_1, ENVELOPE_VERSION, 0]), this.origin, Buffer.alloc(6), short(namespace), short(topic)]);
  }

  /** A publisher's session key with its u32 length. */
  private publisher(key: string): Buffer {
    let bytes = this.publishers.get(key);
    if (!bytes) {
      const text = Buffer.from(key, "utf8");
      bytes = Buffer.allocUnsafe(4 + text.length);
      bytes.writeUInt32BE(text.length, 0);
      text.copy(bytes, 4);
      if (this.publishers.size >= WRITER_CACHE_ENTRIES) this.publishers.clear();
      this.publishers.set(key, bytes);
    }
    return bytes;
  }
}

function short(s: string | Buffer): Buffer {
  const bytes = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  if (bytes.length > 0xffff) throw new RangeError("field longer than 65535 bytes");
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function encodeProperties(p: ForwardedProperties): Buffer {
  const entries: Buffer[] = [];
  if (p.payloadFormatIndicator !== undefined) entries.push(Buffer.from([TAG_PAYLOAD_FORMAT, p.payloadFormatIndicator ? 1 : 0]));
  if (p.contentType !== undefined) entries.push(Buffer.concat([Buffer.from([TAG_CONTENT_TYPE]), short(p.contentType)]));
  if (p.responseTopic !== undefined) entries.push(Buffer.concat([Buffer.from([TAG_RESPONSE_TOPIC]), short(p.responseTopic)]));
  if (p.correlationData !== undefined) entries.push(Buffer.concat([Buffer.from([TAG_CORRELATION_DATA]), short(Buffer.from(p.correlationData))]));
  if (p.userProperties) {
    for (const [key, value] of Object.entries(p.userProperties)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        entries.push(Buffer.concat([Buffer.from([TAG_USER_PROPERTY]), short(key), short(String(v))]));
      }
    }
  }
  if (entries.length > 0xffff) throw new RangeError("more than 65535 properties");
  const count = Buffer.alloc(2);
  count.writeUInt16BE(entries.length);
  return Buffer.concat([count, ...entries]);
}

class Malformed extends Error {}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads without trusting: every length is checked against what is left. */
class Reader {
  private at = 0;
  constructor(private readonly buf: Uint8Array) {}

  get left(): number {
    return this.buf.length - this.at;
  }

  bytes(n: number): Uint8Array {
    if (n > this.left) throw new Malformed();
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  u8(): number {
    return this.bytes(1)[0]!;
  }

  u16(): number {
    const b = this.bytes(2);
    return (b[0]! << 8) | b[1]!;
  }

  u32(): number {
    const b = this.bytes(4);
    return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
  }

  u48(): number {
    const b = this.bytes(6);
    let n = 0;
    for (const byte of b) n = n * 256 + byte;
    return n;
  }

  f64(): number {
    const b = this.bytes(8);
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);
  }

  text(n: number): string {
    try {
      return utf8.decode(this.bytes(n));
    } catch {
      throw new Malformed();
    }
  }
}

/**
 * Decodes a message from the bus; never throws. Anything not exactly as `encodeEnvelope` writes
 * it (a foreign publisher, a truncated or padded message, bad UTF-8, an invalid topic, unknown
 * flags or properties) is refused as `malformed`; another version as `version`.
 */
export function decodeEnvelope(data: Uint8Array, now?: number): DecodeResult {
  try {
    const r = new Reader(data);
    if (r.u8() !== MAGIC_0 || r.u8() !== MAGIC_1) return { ok: false, reason: "malformed" };
    if (r.u8() !== ENVELOPE_VERSION) return { ok: false, reason: "version" };
    const flags = r.u8();
    const qos = flags & 3;
    if ((flags & ~KNOWN_FLAGS) !== 0 || qos > 2) return { ok: false, reason: "malformed" };
    const origin = r.text(r.u8());
    const seq = r.u48();
    const namespace = r.text(r.u16());
    const topic = r.text(r.u16());
    if (origin.length === 0 || namespace.length === 0 || namespace.includes("\u0000") || !isValidTopicName(topic)) return { ok: false, reason: "malformed" };
    const publisher = flags & FLAG_PUBLISHER ? r.text(r.u32()) : undefined;
    let expiresAt: number | undefined;
    if (flags & FLAG_EXPIRY) {
      const left = r.f64();
      if (!Number.isFinite(left) || left < 0) return { ok: false, reason: "malformed" };
      expiresAt = (now ?? Date.now()) + left;
    }
    const properties = decodeProperties(r);
    const payloadLength = r.u32();
    if (payloadLength !== r.left) return { ok: false, reason: "malformed" };
    // A copy: the bus's buffer may be reused, and the message may sit in a session queue for long.
    const payload = Buffer.from(r.bytes(payloadLength));
    const message: Message = { topic, payload, qos: qos as QoS, retain: (flags & FLAG_RETAIN) !== 0, properties, expiresAt, publisher };
    return { ok: true, envelope: { origin, seq, namespace, message } };
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, reason: "malformed" };
    throw err;
  }
}

function decodeProperties(r: Reader): ForwardedProperties | undefined {
  const count = r.u16();
  if (count === 0) return undefined;
  const p: ForwardedProperties = {};
  for (let i = 0; i < count; i++) {
    const tag = r.u8();
    switch (tag) {
      case TAG_PAYLOAD_FORMAT: {
        const v = r.u8();
        if (v > 1) throw new Malformed();
        p.payloadFormatIndicator = v === 1;
        break;
      }
      case TAG_CONTENT_TYPE:
        p.contentType = checked(r.text(r.u16()));
        break;
      case TAG_RESPONSE_TOPIC: {
        const t = r.text(r.u16());
        if (!isValidTopicName(t)) throw new Malformed();
        p.responseTopic = t;
        break;
      }
      case TAG_CORRELATION_DATA:
        p.correlationData = Buffer.from(r.bytes(r.u16()));
        break;
      case TAG_USER_PROPERTY: {
        const key = checked(r.text(r.u16()));
        const value = checked(r.text(r.u16()));
        const props = (p.userProperties ??= {});
        // Own property only: a key named `__proto__` or `constructor` must stay a key.
        const existing = Object.prototype.hasOwnProperty.call(props, key) ? props[key] : undefined;
        if (existing === undefined) Object.defineProperty(props, key, { value, enumerable: true, writable: true, configurable: true });
        else props[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
        break;
      }
      default:
        throw new Malformed();
    }
  }
  return p;
}

/** A string MQTT would refuse (NUL) must not reach a client through the bus either. */
function checked(s: string): string {
  if (s.includes("\u0000")) throw new Malformed();
  return s;
}
