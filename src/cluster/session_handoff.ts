import type { Broker } from "../mqtt/broker.js";
import { Session } from "../mqtt/session.js";
import { parseSharedFilter } from "../mqtt/topics.js";
import type { ClientInfo } from "../mqtt/types.js";
import type { Logger } from "../observability/logger.js";
import type { PgBrokerRepository } from "../store/postgres/broker.js";
import type { StoredSession } from "../store/types.js";
import { NodeLiveness } from "./liveness.js";
import type { ClusterNode } from "./node.js";
import type { OrphanReplay } from "./orphan_replay.js";

/** The subject on which a node answers "release this session" (node ids are valid subject tokens). */
export function releaseSubject(node: string): string {
  return `sluice.h.${node}.release`;
}

interface ReleaseRequest {
  v: 1;
  ns: string;
  id: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Claims of one CONNECT when the session keeps moving to other nodes meanwhile. */
const CLAIM_ATTEMPTS = 3;
/** A release request's bound: a namespace and a client id (65 535 bytes each at most). */
const MAX_REQUEST_BYTES = 256 * 1024;

export interface HandoffStats {
  /** Sessions this node released to another (a request answered while holding it). */
  released: number;
  /** Sessions this node took from another node on CONNECT. */
  claimed: number;
  /** Sessions this node took from dead nodes. */
  adopted: number;
  /** Copies dropped on a claim as already stored by the previous owner (the same bus message). */
  duplicates: number;
  /** When the last adoption finished (epoch ms), and how many sessions it took. */
  lastAdoption: { at: number; sessions: number; from: string | null } | undefined;
}

/**
 * Persistent sessions on any node (docs/cluster.md, "Persistent sessions on any node"). A
 * session lives in one node's memory, its owner named in PostgreSQL. A CONNECT for it on another
 * node claims it: that node subscribes the session's filters first (so from then on the bus
 * brings it every matching message), asks the owner over NATS to release it (the owner ends any
 * connection of it, drops it from memory and commits its pending writes before answering), then
 * moves the ownership by compare-and-set and loads it, dropping the copies it got itself that
 * the owner had stored (same `busId`). A dead owner (its liveness lock free) does not answer:
 * its sessions are moved without it, on CONNECT, and by the sweep that adopts them all within
 * `adoptIntervalMs`.
 */
export class SessionHandoff {
  readonly stats: HandoffStats = { released: 0, claimed: 0, adopted: 0, duplicates: 0, lastAdoption: undefined };
  /** Claims in progress by session key: a second CONNECT of the same client id waits for the first. */
  private readonly claiming = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private stopped = false;

  constructor(private readonly options: {
    broker: Broker;
    cluster: ClusterNode;
    store: PgBrokerRepository;
    node: string;
    timeoutMs: number;
    adoptIntervalMs: number;
    /** Messages kept for gone nodes, replayed into the sessions taken from them (orphan_replay.ts). */
    replay: OrphanReplay;
    logger: Logger;
  }) {}

  /** The persistent sessions this node holds now. */
  private held(): Session[] {
    const held: Session[] = [];
    for (const ns of this.options.broker.namespaceList()) for (const s of ns.sessions.values()) if (s.persistent) held.push(s);
    return held;
  }

  start(): void {
    const { broker, cluster, node, replay } = this.options;
    // This node's own sessions, loaded at start: what was kept for its previous run while it was
    // down; and again whenever it is back on NATS after losing it (the others found it gone).
    const own = this.held();
    if (own.length > 0) replay.took(node, own, true);
    cluster.onBusBack = () => replay.took(node, this.held());
    cluster.serve(releaseSubject(node), (data) => this.release(data));
    broker.claimSession = (namespace, clientId, cleanStart) => this.claim(namespace, clientId, cleanStart);
    this.timer = setInterval(() => void this.sweep(), this.options.adoptIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.options.broker.claimSession = undefined;
    this.options.cluster.onBusBack = undefined;
  }

  /** Another node asks for a session: let it go from here, its writes committed, then answer. */
  private async release(data: Uint8Array): Promise<Uint8Array> {
    const request = decodeRequest(data);
    if (!request) {
      this.options.cluster.stats.drop("malformed");
      return encoder.encode(JSON.stringify({ ok: false, error: "malformed" }));
    }
    const { broker } = this.options;
    const session = broker.sessionOf(request.ns, request.id);
    let replay: { from: string; afterId: number }[] = [];
    if (session) {
      replay = this.options.replay.handOver(session);
      broker.sessions.release(session);
      this.stats.released++;
    }
    await broker.sessions.persistence.drained();
    return encoder.encode(JSON.stringify({ ok: true, held: session !== undefined, ...(replay.length > 0 && { replay }) }));
  }

  /**
   * Before a CONNECT opens the session of `clientId`: brings it here when another node holds it.
   * Resolves with a reason to refuse the CONNECT (0x88), or undefined.
   */
  claim(namespace: string, clientId: string, cleanStart: boolean): Promise<string | undefined> {
    const key = `${namespace}\u0000${clientId}`;
    const before = this.claiming.get(key) ?? Promise.resolve();
    const mine = before.then(() => this.claimNow(namespace, clientId, cleanStart)).catch((err: unknown) => {
      this.options.logger.error({ err, clientId }, "cluster: taking a session over failed");
      return "the session could not be taken over from another node; retry later";
    });
    this.claiming.set(key, mine);
    void mine.finally(() => {
      if (this.claiming.get(key) === mine) this.claiming.delete(key);
    });
    return mine;
  }

  private async claimNow(namespace: string, clientId: string, cleanStart: boolean): Promise<string | undefined> {
    // The session may move again while this node asks for it (another node's CONNECT got it
    // first): ask its new owner, a few times at most.
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const outcome = await this.claimOnce(namespace, clientId, cleanStart);
      if (outcome !== "moved") return outcome;
    }
    return "the session kept moving between nodes; retry later";
  }

  private async claimOnce(namespace: string, clientId: string, cleanStart: boolean): Promise<string | undefined | "moved"> {
    const { broker, store, node } = this.options;
    if (broker.sessionOf(namespace, clientId)) return undefined;
    const owner = await store.ownerOf(namespace, clientId);
    if (owner === undefined) return undefined;
    if (owner === node) {
      // Stored as this node's but not in memory (a release that raced a claim): load it.
      const stored = await store.claim(namespace, clientId, node);
      if (stored && !cleanStart && !broker.sessionOf(namespace, clientId)) {
        const session = broker.restoreSession(stored);
        broker.sessions.adopt(session);
        // Its previous run here died: what was kept for this node comes too.
        this.options.replay.took(node, [session]);
      }
      return undefined;
    }
    // A clean start needs nothing of the old session, only that its owner forgets it; the new
    // session's first write takes the client id in the store.
    if (cleanStart) {
      await this.askRelease(owner, namespace, clientId);
      return undefined;
    }
    // Listen first: from here on the bus brings this node every message for the session, so a
    // message the owner no longer takes once it released it is queued here.
    const pending = this.listen(namespace, clientId, await store.subscriptionsOf(namespace, clientId));
    let stored: StoredSession | undefined;
    let answered = false;
    const windows: { from: string; afterId: number }[] = [];
    try {
      await this.options.cluster.settled();
      answered = await this.askRelease(owner, namespace, clientId, windows);
      stored = answered
        ? await store.claim(namespace, clientId, owner)
        : (await store.adopt(owner, (c) => NodeLiveness.takeIfDead(c, owner), { namespace, clientId }))[0];
      if (!answered && !stored) return `the node holding this session (${owner ?? "unnamed"}) does not answer; retry later`;
    } finally {
      if (!stored) this.dropPending(pending);
    }
    if (!stored) return "moved";
    if (broker.sessionOf(namespace, clientId)) {
      // Made here meanwhile (the adoption sweep): that one stays.
      this.dropPending(pending);
      return undefined;
    }
    this.merge(pending, stored);
    // Taken from a dead node: what was kept for it comes too.
    if (!answered && owner !== null) this.options.replay.took(owner, [pending]);
    // The owner was replaying a gone node's kept messages into it: this node goes on from there.
    for (const w of windows) this.options.replay.took(w.from, [pending], false, w.afterId);
    this.stats.claimed++;
    return undefined;
  }

  /**
   * Unsubscribes a pending session that will not be used. A session of the same key made visible
   * meanwhile (the sweep adopted it) replaced its entries in the subscription tree: those stay,
   * or that session would hear nothing more (review of issue 14, review14_kill_handoff test).
   */
  private dropPending(pending: Session): void {
    const { broker } = this.options;
    const keepEntry = broker.sessionOf(pending.namespace, pending.clientId) !== undefined;
    for (const filter of [...pending.subscriptions.keys()]) broker.unsubscribe(pending, filter, keepEntry);
  }

  /**
   * Asks `owner` to release the session; false when it did not answer and is dead (or unnamed).
   * `replay` gets the windows of gone nodes the owner was replaying into it (orphan_replay.ts).
   */
  private async askRelease(owner: string | null, namespace: string, clientId: string, replay?: { from: string; afterId: number }[]): Promise<boolean> {
    if (owner === null) return false;
    const request: ReleaseRequest = { v: 1, ns: namespace, id: clientId };
    try {
      const answer = JSON.parse(decoder.decode(await this.options.cluster.request(releaseSubject(owner), encoder.encode(JSON.stringify(request)), this.options.timeoutMs))) as { ok?: boolean; replay?: unknown };
      if (answer.ok === true && replay && Array.isArray(answer.replay)) {
        // Bounded and checked: the answer comes off the bus.
        for (const w of answer.replay.slice(0, 64) as { from?: unknown; afterId?: unknown }[]) {
          if (w !== null && typeof w === "object" && typeof w.from === "string" && w.from.length <= 256 && Number.isSafeInteger(w.afterId) && (w.afterId as number) >= 0) replay.push({ from: w.from, afterId: w.afterId as number });
        }
      }
      return answer.ok === true;
    } catch (err) {
      this.options.logger.warn({ err, owner, clientId }, "cluster: the node holding a session did not answer its release");
      return false;
    }
  }

  /** A session not yet among the namespace's, subscribed to `subscriptions`, collecting what the bus brings meanwhile. */
  private listen(namespace: string, clientId: string, subscriptions: StoredSession["subscriptions"]): Session {
    const { broker } = this.options;
    const ns = broker.namespace(namespace);
    // Its principal is the stored one, set by `restoreSession` once loaded.
    const client: ClientInfo = { clientId, namespace, principal: {}, username: undefined, remoteAddress: "", transport: "tcp", protocolVersion: 5 };
    // expiryInterval stays 0 while pending: what it collects is not written as queued copies of a
    // session this node does not own yet (the owner's store rows are loaded and merged instead).
    const session = new Session(broker, ns.stats, `${namespace}\u0000${clientId}`, namespace, clientId, client);
    for (const sub of subscriptions) {
      const shared = parseSharedFilter(sub.filter);
      broker.subscribe(session, sub.filter, shared && shared !== "invalid" ? shared : undefined, { qos: sub.qos, nl: sub.nl, rap: sub.rap, rh: sub.rh, id: sub.id });
    }
    return session;
  }

  /**
   * The stored session into the pending one: the stored messages first, in their order, then what
   * the pending one got from the bus that the previous owner had not stored (by bus identity).
   */
  private merge(pending: Session, stored: StoredSession): void {
    const { broker } = this.options;
    const collected = pending.queue.splice(0);
    pending.queueBytes = 0;
    const storedFilters = new Set(stored.subscriptions.map((s) => s.filter));
    // Subscriptions changed between the read and the release: the stored ones are the session's.
    for (const filter of [...pending.subscriptions.keys()]) if (!storedFilters.has(filter)) broker.unsubscribe(pending, filter);
    broker.restoreSession(stored, pending);
    const known = new Set(stored.messages.map((m) => m.busId).filter((id): id is string => typeof id === "string"));
    let extra = 0;
    for (const d of collected) {
      if (d.message.busId !== undefined && known.has(d.message.busId)) {
        this.stats.duplicates++;
        continue;
      }
      d.seq = pending.takeSeq();
      pending.queue.push(d);
      pending.queueBytes += d.bytes;
      extra++;
    }
    broker.sessions.adopt(pending);
    // What only this node got is stored now, as the owner's was.
    if (extra > 0) broker.sessions.persistence.saved(pending);
  }

  /**
   * After this node lost its liveness lock for a while: other nodes may have taken its sessions
   * over (they found it dead). Those are theirs now; this node lets its copies go, unwritten.
   */
  async forgetMoved(): Promise<void> {
    const { broker, store } = this.options;
    const held = this.held().map((s) => ({ namespace: s.namespace, clientId: s.clientId }));
    try {
      for (const k of await store.ownedElsewhere(held)) {
        const session = broker.sessionOf(k.namespace, k.clientId);
        if (session) broker.sessions.release(session);
      }
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: checking which sessions moved while this node was cut off failed");
    }
  }

  /** Takes over the sessions of every dead node, with their subscriptions and queues. */
  async sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      const { broker, store } = this.options;
      const owners = await store.otherOwners();
      this.options.replay.sawOwners(owners);
      for (const dead of owners) {
        const started = Date.now();
        const sessions = await store.adopt(dead, (c) => NodeLiveness.takeIfDead(c, dead));
        if (sessions.length === 0 || this.stopped) continue;
        const taken: Session[] = [];
        for (const stored of sessions) {
          // One claimed here meanwhile is already live; the store says this node owns it either way.
          if (broker.sessionOf(stored.namespace, stored.clientId)) continue;
          const session = broker.restoreSession(stored);
          broker.sessions.adopt(session);
          taken.push(session);
        }
        if (dead !== null) this.options.replay.took(dead, taken, true);
        this.stats.adopted += taken.length;
        this.stats.lastAdoption = { at: Date.now(), sessions: taken.length, from: dead };
        this.options.logger.info({ from: dead, sessions: taken.length, ms: Date.now() - started }, "cluster: took over the persistent sessions of a dead node");
      }
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: looking for dead nodes' sessions failed; trying again");
    } finally {
      this.sweeping = false;
    }
  }
}

function decodeRequest(data: Uint8Array): ReleaseRequest | undefined {
  if (data.length > MAX_REQUEST_BYTES) return undefined;
  try {
    const r = JSON.parse(decoder.decode(data)) as Partial<ReleaseRequest> | null;
    if (r === null || typeof r !== "object" || r.v !== 1 || typeof r.ns !== "string" || typeof r.id !== "string") return undefined;
    return { v: 1, ns: r.ns, id: r.id };
  } catch {
    return undefined;
  }
}
