import { createHash } from "node:crypto";
import type { KV, KvEntry, NatsConnection, QueuedIterator } from "nats";
import type { Logger } from "../observability/logger.js";
import type { Message } from "../mqtt/types.js";
import { decodeEnvelope, encodeEnvelope } from "./envelope.js";
import type { ClusterStats } from "./stats.js";

/**
 * Where a cluster keeps its retained messages, so that every node answers a SUBSCRIBE with the
 * same ones, including a node started after they were set. Behind this interface so they can
 * move (to PostgreSQL, with the rest of the shared state) without the broker noticing.
 */
export interface SharedRetainedStore {
  /** Loads every retained message into `apply`, then keeps calling it for changes made on any node (this one too). */
  start(apply: (namespace: string, message: Message) => void): Promise<void>;
  /** Catches up after the connection to the store was lost and came back. */
  resume(): Promise<void>;
  /** Sets (or clears, empty payload) one retained message for every node. */
  put(namespace: string, message: Message): void;
  stop(): Promise<void>;
}

export const RETAINED_BUCKET = "sluice_retained";

/**
 * Retained messages in a JetStream key-value bucket (one value per topic, history 1): a put is
 * seen by every node's watch, and a node starting reads the bucket's current values first. The
 * key is a hash of namespace and topic (topics may be longer than a key may be); the value is
 * the message envelope, its expiry counted from the time the bucket stored it.
 */
export class KvRetainedStore implements SharedRetainedStore {
  private kv: KV | undefined;
  private watch: QueuedIterator<KvEntry> | undefined;
  private stopped = false;
  /** The current watch's number: an older one's entries and ending are ignored. */
  private generation = 0;
  private lastRevision = 0;
  private apply: ((namespace: string, message: Message) => void) | undefined;
  private readonly pending: { key: string; value: Uint8Array }[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly origin: string,
    private readonly stats: ClusterStats,
    private readonly logger: Logger,
  ) {}

  async start(apply: (namespace: string, message: Message) => void): Promise<void> {
    this.apply = apply;
    this.kv = await this.nc.jetstream().views.kv(RETAINED_BUCKET, { history: 1 });
    await this.follow();
    for (const p of this.pending.splice(0)) this.write(p.key, p.value);
  }

  /**
   * Watches from the last revision seen (all current values the first time). Resolves once the
   * watch has caught up. A watch that ends by itself is followed by a new one.
   */
  private async follow(): Promise<void> {
    const kv = this.kv!;
    const generation = ++this.generation;
    await new Promise<void>((resolve, reject) => {
      kv.watch({
        key: ">",
        initializedFn: resolve,
        ...(this.lastRevision > 0 ? { resumeFromRevision: this.lastRevision + 1 } : {}),
      }).then((watch) => {
        this.watch = watch;
        void this.consume(watch, generation);
      }, reject);
    });
  }

  /**
   * After the connection to NATS came back: a new watch from the last revision seen, rather than
   * waiting for the old one to notice its missed heartbeats (seconds). Resolves once caught up.
   */
  async resume(): Promise<void> {
    if (!this.kv || this.stopped) return;
    const old = this.watch;
    this.generation++;
    old?.stop();
    for (;;) {
      try {
        await this.follow();
        return;
      } catch (err) {
        if (this.stopped) return;
        // JetStream comes back a little after the server does.
        this.logger.warn({ err }, "resuming the cluster's retained-message watch failed; retrying");
        await new Promise((r) => setTimeout(r, 500).unref());
      }
    }
  }

  private async consume(watch: QueuedIterator<KvEntry>, generation: number): Promise<void> {
    try {
      for await (const entry of watch) {
        if (generation !== this.generation) break;
        this.entry(entry);
      }
    } catch (err) {
      this.logger.warn({ err }, "the cluster's retained-message watch ended");
    }
    if (!this.stopped && generation === this.generation) void this.resume();
  }

  private entry(entry: KvEntry): void {
    if (entry.revision > this.lastRevision) this.lastRevision = entry.revision;
    // A clear is written as a put of an empty message (`put`), which names its topic; a delete
    // or purge made from outside carries only a hashed key, and is ignored.
    if (entry.operation !== "PUT") return;
    const decoded = decodeEnvelope(entry.value, entry.created.getTime());
    if (!decoded.ok) {
      this.stats.drop(decoded.reason);
      return;
    }
    const { namespace, message } = decoded.envelope;
    if (retainedKey(namespace, message.topic) !== entry.key) {
      this.stats.drop("subject_mismatch");
      return;
    }
    this.apply?.(namespace, { ...message, retain: true, publisher: undefined });
  }

  put(namespace: string, message: Message): void {
    const key = retainedKey(namespace, message.topic);
    const value = encodeEnvelope(this.origin, 0, namespace, { ...message, publisher: undefined });
    if (!this.kv) {
      this.pending.push({ key, value });
      return;
    }
    this.write(key, value);
  }

  private write(key: string, value: Uint8Array): void {
    this.kv!.put(key, value).then(undefined, (err: unknown) => {
      this.stats.drop("publish_failed");
      this.logger.error({ err }, "storing a retained message in the cluster failed");
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    this.watch?.stop();
  }
}

/** The bucket key of one topic: a hash, since a key is bounded and limited to a few characters. */
export function retainedKey(namespace: string, topic: string): string {
  return createHash("sha256").update(`${namespace}\u0000${topic}`).digest("base64url");
}
