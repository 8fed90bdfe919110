import type { NatsConnection } from "nats";
import type { Logger } from "../observability/logger.js";

/** Every node's heartbeat: who it is, and whether it holds persistent sessions (connected or offline). */
export const HEARTBEAT_SUBJECT = "sluice.n.heartbeat";

/** Said by a node that took over every persistent session of a dead node (session_handoff.ts). */
export const ADOPTED_SUBJECT = "sluice.n.adopted";

/** The subject on which a node answers "your queued copies so far are committed". */
export function drainSubject(origin: string): string {
  return `sluice.n.drain.${origin.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** A heartbeat's bound (an origin is a node id of 64 characters and a nonce). */
const MAX_HEARTBEAT_BYTES = 1024;
/** A peer not heard from for this many heartbeats is forgotten (unless it holds persistent sessions). */
const MISSED_HEARTBEATS = 3;
/**
 * A silent peer that held persistent sessions is remembered until a node says it adopted them
 * (ADOPTED_SUBJECT), or this long: until then each QoS 1/2 publish keeps its messages for it
 * (orphans.ts). The notice is best effort; this bounds the cost of one that was lost.
 */
const SILENT_DURABLE_MS = 60_000;

interface Heartbeat {
  v: 1;
  origin: string;
  /** True while the node holds persistent sessions (it queues and stores copies for them once they are offline, which can be at any moment). */
  durable: boolean;
}

interface Adopted {
  v: 1;
  /** The node id (not origin) whose sessions were taken. */
  node: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * What makes a QoS 1/2 publish's ack wait for the other nodes' stores (docs/cluster.md, "What
 * PUBACK means in a cluster"). Core NATS's PONG says a message reached the nodes' connections,
 * not that a node committed the copies it queued for its offline persistent sessions. So each
 * node says on a heartbeat whether it holds persistent sessions, and an ack waits, after
 * the message is sent, for a "drain" answer from each such peer: the drain request travels on the
 * same connection as the message, so the peer routed the message (and submitted its copies to its
 * group commit) before it reads the request, and it answers once everything submitted so far is
 * committed. A peer that is gone answers "no responders" at once: `drain` names it, and the
 * publisher keeps the messages for whoever takes its sessions (orphan_replay.ts). Peers without
 * persistent sessions cost nothing.
 */
export class DurablePeers {
  /** Peers by origin: whether they hold persistent sessions, when last heard, whether a drain found them gone. */
  private readonly peers = new Map<string, { durable: boolean; seen: number; gone: boolean }>();
  /** Node ids said adopted (ADOPTED_SUBJECT), and when: an origin of theirs last heard before that is gone for good. */
  private readonly adoptedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private bus: NatsConnection | undefined;
  private lastSent: boolean | undefined;

  constructor(private readonly options: {
    origin: string;
    heartbeatMs: number;
    /** How many peers are remembered at most (a hostile heartbeat stream must not grow the map). */
    maxPeers: number;
    /** True while this node holds persistent sessions, connected or offline. */
    durable: () => boolean;
    /** Resolves once every copy queued so far is committed. */
    drained: () => Promise<void>;
    timeoutMs: number;
    logger: Logger;
    /** Counts a heartbeat that is not one (issue 14: bus garbage is dropped and counted). */
    malformed?: () => void;
  }) {}

  /** On the bus connection, once it is open: heartbeats out and in, and drain requests answered. */
  start(bus: NatsConnection): void {
    this.bus = bus;
    // A callback that throws stops nats.js's reader: the whole bus connection would go deaf.
    bus.subscribe(HEARTBEAT_SUBJECT, {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.heard(msg.data);
        } catch (error) {
          this.options.malformed?.();
          this.options.logger.error({ err: error }, "cluster: a heartbeat could not be handled");
        }
      },
    });
    bus.subscribe(ADOPTED_SUBJECT, {
      callback: (err, msg) => {
        if (err) return;
        const notice = decodeAdopted(msg.data);
        if (!notice) return this.options.malformed?.();
        this.forgetNode(notice.node);
      },
    });
    bus.subscribe(drainSubject(this.options.origin), {
      callback: (err, msg) => {
        if (err) return;
        this.options.drained().then(() => msg.respond(encoder.encode("1")), (error: unknown) => this.options.logger.warn({ err: error }, "cluster: drain failed"));
      },
    });
    this.beat();
    this.timer = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /** Says this node's state now; also called when it changes, so peers need not wait a beat. */
  beat(force = true): void {
    const durable = this.options.durable();
    if (!force && durable === this.lastSent) return;
    this.lastSent = durable;
    const heartbeat: Heartbeat = { v: 1, origin: this.options.origin, durable };
    try {
      this.bus?.publish(HEARTBEAT_SUBJECT, encoder.encode(JSON.stringify(heartbeat)));
    } catch {
      // The bus is down: peers forget this node after a few beats, which is what it is to them.
    }
  }

  private heard(data: Uint8Array): void {
    if (data.length > MAX_HEARTBEAT_BYTES) return this.options.malformed?.();
    let h: Partial<Heartbeat> | null;
    try {
      h = JSON.parse(decoder.decode(data)) as Partial<Heartbeat> | null;
    } catch {
      return this.options.malformed?.();
    }
    if (h === null || typeof h !== "object" || h.v !== 1 || typeof h.origin !== "string" || typeof h.durable !== "boolean") return this.options.malformed?.();
    if (h.origin === this.options.origin) return;
    if (!this.peers.has(h.origin) && this.peers.size >= this.options.maxPeers) this.forgetSilent();
    if (!this.peers.has(h.origin) && this.peers.size >= this.options.maxPeers) return;
    this.peers.set(h.origin, { durable: h.durable, seen: Date.now(), gone: false });
  }

  private forgetSilent(): void {
    const now = Date.now();
    for (const [origin, p] of this.peers) if (this.silent(p, now)) this.peers.delete(origin);
  }

  /** Past remembering: silent for a few beats, or for SILENT_DURABLE_MS when it held persistent sessions. */
  private silent(p: { durable: boolean; seen: number }, now: number): boolean {
    return p.seen < now - (p.durable ? SILENT_DURABLE_MS : MISSED_HEARTBEATS * this.options.heartbeatMs);
  }

  /**
   * Says every persistent session of the dead node `node` now lives elsewhere, and forgets it
   * here: its messages need not be kept for it any more.
   */
  adopted(node: string): void {
    this.forgetNode(node);
    const notice: Adopted = { v: 1, node };
    try {
      this.bus?.publish(ADOPTED_SUBJECT, encoder.encode(JSON.stringify(notice)));
    } catch {
      // Best effort: peers forget it after SILENT_DURABLE_MS anyway.
    }
  }

  /** Forgets the origins of `node` that a drain found gone or that stopped beating (a new start of it beats on). */
  private forgetNode(node: string): void {
    // A dead origin still within its last few beats (no drain found it gone yet) is not deleted
    // here; remembering the notice lets the drain drop it instead of keeping messages for it for
    // SILENT_DURABLE_MS (review14b_kill_load: every publish after the adoption kept).
    const now = Date.now();
    for (const [n, at] of this.adoptedAt) if (at < now - SILENT_DURABLE_MS) this.adoptedAt.delete(n);
    if (this.adoptedAt.size < this.options.maxPeers) this.adoptedAt.set(node, now);
    const before = now - MISSED_HEARTBEATS * this.options.heartbeatMs;
    for (const [origin, p] of this.peers) if (nodeOf(origin) === node && (p.gone || p.seen < before)) this.peers.delete(origin);
  }

  /**
   * After messages were written to the bus: resolves once every live peer holding persistent
   * sessions has committed what it queued from them, with the node ids of those that are gone
   * (nobody listens on their subject: dead, or cut off from NATS), whose sessions the messages
   * did not reach. Rejects when one does not answer within `timeoutMs`.
   */
  async drain(sentAt: number): Promise<string[]> {
    const bus = this.bus;
    if (!bus) return [];
    const now = Date.now();
    const gone: string[] = [];
    const asks: Promise<unknown>[] = [];
    const quiet = now - MISSED_HEARTBEATS * this.options.heartbeatMs;
    const markGone = (origin: string, p: { gone: boolean; seen: number }): void => {
      const node = nodeOf(origin);
      // Its sessions were taken after it was last heard, and this node heard so before these
      // messages went out: the adopter's interest was settled before it said so, so the bus
      // brought them to it. (Heard after they went out, they may have missed it: kept.)
      const adopted = this.adoptedAt.get(node);
      if (adopted !== undefined && adopted > p.seen && adopted < sentAt) {
        this.peers.delete(origin);
        return;
      }
      p.gone = true;
      if (!gone.includes(node)) gone.push(node);
    };
    for (const [origin, p] of this.peers) {
      if (this.silent(p, now)) {
        this.peers.delete(origin);
        continue;
      }
      if (!p.durable) continue;
      // Silent for a few beats (frozen, or gone without NATS noticing yet): not waited for, as a
      // hung peer would fail every ack for `timeoutMs`; its messages are kept as for a gone one.
      if (p.gone || p.seen < quiet) {
        markGone(origin, p);
        continue;
      }
      asks.push(bus.request(drainSubject(origin), undefined, { timeout: this.options.timeoutMs }).catch((err: { code?: string }) => {
        if (err.code !== "503") throw err;
        markGone(origin, p);
      }));
    }
    if (asks.length > 0) await Promise.all(asks);
    return gone;
  }

  /** The live peers holding persistent sessions, by origin. */
  durable(): string[] {
    const before = Date.now() - MISSED_HEARTBEATS * this.options.heartbeatMs;
    return [...this.peers].filter(([, p]) => p.durable && !p.gone && p.seen >= before).map(([origin]) => origin);
  }

  stop(): void {
    clearInterval(this.timer);
    this.bus = undefined;
  }
}

/** An origin is `nodeId/nonce` (node.ts); node ids hold no "/". */
function nodeOf(origin: string): string {
  const at = origin.lastIndexOf("/");
  return at < 0 ? origin : origin.slice(0, at);
}

function decodeAdopted(data: Uint8Array): Adopted | undefined {
  if (data.length > MAX_HEARTBEAT_BYTES) return undefined;
  try {
    const a = JSON.parse(decoder.decode(data)) as Partial<Adopted> | null;
    if (a === null || typeof a !== "object" || a.v !== 1 || typeof a.node !== "string") return undefined;
    return { v: 1, node: a.node };
  } catch {
    return undefined;
  }
}
