import type { Broker } from "../mqtt/broker.js";
import { RC } from "../mqtt/reason_codes.js";
import type { Session } from "../mqtt/session.js";
import type { Logger } from "../observability/logger.js";
import type { PgOrphanMessages } from "../store/postgres/orphans.js";
import type { ClusterNode, Published } from "./node.js";

export interface OrphanStats {
  /** Messages kept for gone nodes' sessions (one per message and gone node). */
  kept: number;
  /** Copies given to sessions taken from gone nodes. */
  replayed: number;
  /** Kept messages a taken session had already got (stored by the dead node, or over the bus). */
  duplicates: number;
  /** Acks refused because keeping the messages took longer than half the window. */
  late: number;
}

/** Gone nodes remembered as owning no session, at most (then not remembered: asked again). */
const MAX_NOT_OWNERS = 4096;

/** Sessions taken from one gone node, and how far its kept messages were replayed into them. */
interface Taken {
  sessions: Set<Session>;
  afterId: number;
  /** When replay stops (epoch ms); undefined until this node's interest for them is settled. */
  until: number | undefined;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  /** Every session of the gone node is here: once the window opens, the other nodes are told to stop keeping messages for it. */
  announce: boolean;
}

/**
 * The adoption gap (docs/cluster.md): between a node's death (or its loss of NATS) and another
 * node taking its persistent sessions, nobody subscribes for them on the bus, so a QoS 1/2
 * message published meanwhile would reach no one for them though it was acknowledged.
 *
 * The publisher's side: its drain finds the node gone (NATS says no one listens on its drain
 * subject), and it keeps the confirmation's messages in PostgreSQL for that node before the acks
 * (`keep`). The taker's side: a node that takes such sessions (adoption, a CONNECT's claim, its own
 * start, or its own return to NATS) first makes sure the bus routes by its interest for them, then
 * replays what was kept for the gone node into them, for `windowMs`: a publisher's keep that comes
 * later than half the window fails its acks, so every kept message of a publish that the bus did
 * not bring is read in time. A message both kept and brought (by the bus, or stored by the dead
 * node) is given once: the sessions remember the bus identities they got meanwhile.
 */
export class OrphanReplay {
  readonly stats: OrphanStats = { kept: 0, replayed: 0, duplicates: 0, late: 0 };
  private readonly taken = new Map<string, Taken>();
  /** Nodes the sweep saw owning stored sessions, and when. */
  private readonly ownerSeen = new Map<string, number>();
  /** Gone nodes the store said own no session, since the last sweep (a forged name costs one read a sweep). */
  private readonly notOwner = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: {
    broker: Broker;
    cluster: ClusterNode;
    store: PgOrphanMessages;
    /** How long sessions taken from a gone node get its kept messages (`cluster.orphanWindowMs`). */
    windowMs: number;
    /** Between reads of kept messages while a window is open. */
    pollMs: number;
    /** Between the sweeps that report which nodes own stored sessions (`sawOwners`). */
    adoptIntervalMs: number;
    logger: Logger;
  }) {}

  start(): void {
    this.options.cluster.keepOrphans = (gone, published, startedAt) => this.keep(gone, published, startedAt);
    // Every taker replays within its window; rows older than a few windows serve no one.
    this.sweepTimer = setInterval(() => {
      this.options.store.sweep(4 * this.options.windowMs).catch((err: unknown) => this.options.logger.warn({ err }, "cluster: sweeping kept messages failed"));
    }, this.options.windowMs);
    this.sweepTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.options.cluster.keepOrphans = undefined;
    clearInterval(this.sweepTimer);
    for (const [from, t] of this.taken) this.end(from, t);
  }

  /** Keeps a confirmation's messages for the gone nodes' sessions; throws (no ack) when it came too late to be replayed. */
  async keep(gone: string[], published: Published[], startedAt: number): Promise<void> {
    let owners: string[];
    try {
      owners = await this.owners(gone);
      if (owners.length === 0) return;
      await this.options.store.keep(owners, published);
    } catch (err) {
      this.options.logger.error({ err, gone }, "cluster: keeping messages for a gone node's sessions failed; their acks are refused");
      throw Object.assign(new Error("the messages for a gone node's sessions could not be kept"), { reasonCode: RC.SERVER_BUSY });
    }
    this.stats.kept += owners.length * published.length;
    if (Date.now() - startedAt > this.options.windowMs / 2) {
      this.stats.late++;
      throw Object.assign(new Error("keeping messages for a gone node's sessions took longer than half of cluster.orphanWindowMs"), { reasonCode: RC.SERVER_BUSY });
    }
  }

  /**
   * The sweep's list of nodes owning stored sessions (session_handoff.ts, every
   * `adoptIntervalMs`): a gone node seen owning some within the last window (and sweep) may have
   * had them adopted just now, and its messages are kept still.
   */
  sawOwners(nodes: Iterable<string | null>): void {
    const now = Date.now();
    for (const n of nodes) if (n !== null) this.ownerSeen.set(n, now);
    const before = now - this.ownerMemoryMs();
    for (const [n, at] of this.ownerSeen) if (at < before) this.ownerSeen.delete(n);
    this.notOwner.clear();
  }

  private ownerMemoryMs(): number {
    return this.options.windowMs + 2 * this.options.pollMs + this.options.adoptIntervalMs;
  }

  /**
   * Of the gone nodes, those that own (or lately owned) stored sessions: nothing kept for another
   * could ever be replayed, and a forged heartbeat would otherwise have every QoS 1/2
   * confirmation write rows for it (review of issue 14). A node not seen by the last sweep (its
   * first session is newer) is asked of the store, once a sweep.
   */
  private async owners(gone: string[]): Promise<string[]> {
    const since = Date.now() - this.ownerMemoryMs();
    const owners: string[] = [];
    for (const node of gone) {
      const seen = this.ownerSeen.get(node);
      if (seen !== undefined && seen >= since) {
        owners.push(node);
        continue;
      }
      if (this.notOwner.has(node)) continue;
      if (await this.options.store.ownsSessions(node)) {
        this.ownerSeen.set(node, Date.now());
        owners.push(node);
      } else if (this.notOwner.size < MAX_NOT_OWNERS) {
        this.notOwner.add(node);
      }
    }
    return owners;
  }

  /**
   * Sessions this node now holds that were `from`'s: they get what was kept for it, for a window.
   * `all`: every session `from` held (an adoption, or this node's own start), so the other nodes
   * can stop keeping messages for it.
   */
  took(from: string, sessions: Iterable<Session>, all = false, afterId = 0): void {
    if (this.stopped) return;
    let t = this.taken.get(from);
    if (!t) {
      t = { sessions: new Set(), afterId, until: undefined, timer: undefined, running: false, announce: false };
      this.taken.set(from, t);
    } else if (afterId < t.afterId) {
      // Rows the others here already got are read again: their replaySeen skips them.
      t.afterId = afterId;
    }
    t.announce ||= all;
    for (const s of sessions) {
      if (!s.persistent) continue;
      s.replaySeen ??= new Set(heldBusIds(s));
      t.sessions.add(s);
    }
    // Taken again while open (a claim after the adoption): the window starts over for all of them.
    t.until = undefined;
    this.schedule(from, t, 0);
  }

  /**
   * `session` leaves this node (released to the node its client connected to) while windows
   * of gone nodes are open for it: it gets nothing more here, and each window's place is told
   * to the new holder, which replays the rest (`took` with `afterId`). Without this, a message
   * kept for the gone node and committed after this node's last read was never replayed
   * (review14b_kill_load: a QoS 2 message acknowledged in the gap lost).
   */
  handOver(session: Session): { from: string; afterId: number }[] {
    const open: { from: string; afterId: number }[] = [];
    for (const [from, t] of this.taken) if (t.sessions.delete(session)) open.push({ from, afterId: t.afterId });
    return open;
  }

  private schedule(from: string, t: Taken, ms: number): void {
    clearTimeout(t.timer);
    t.timer = setTimeout(() => void this.run(from, t), ms);
    t.timer.unref();
  }

  private async run(from: string, t: Taken): Promise<void> {
    if (t.running || this.stopped) return;
    t.running = true;
    try {
      if (t.until === undefined) {
        // The bus must route by this node's interest for the sessions first: a message it no
        // longer gives to no one was kept, or comes here.
        if (!this.options.cluster.available) return this.schedule(from, t, this.options.pollMs);
        await this.options.cluster.settled();
        t.until = Date.now() + this.options.windowMs;
        if (t.announce) this.options.cluster.adopted(from);
        t.announce = false;
      }
      const last = Date.now() >= t.until;
      await this.replay(from, t);
      // Taken again meanwhile (`until` cleared): the window starts over.
      if (t.until === undefined) return this.schedule(from, t, 0);
      if (last) return this.end(from, t);
      this.schedule(from, t, Math.min(this.options.pollMs, Math.max(0, t.until - Date.now())));
    } catch (err) {
      this.options.logger.warn({ err, from }, "cluster: replaying messages kept for a gone node failed; trying again");
      this.schedule(from, t, this.options.pollMs);
    } finally {
      t.running = false;
    }
  }

  /** Everything kept for `from` since the last read, into the sessions still held here. */
  private async replay(from: string, t: Taken): Promise<void> {
    const { broker, store } = this.options;
    for (;;) {
      const page = await store.after(from, t.afterId);
      if (page.length === 0) return;
      const commits: Promise<void>[] = [];
      for (const orphan of page) {
        const busId = orphan.message.busId!;
        // Asked once per matching subscription: a session with several gets one copy (routing's).
        const given = new Set<Session>();
        const skipped = new Set<Session>();
        commits.push(broker.sessions.persistence.track(() => broker.routeTo(orphan.namespace, orphan.message, (client) => {
          const s = broker.sessionOf(client.namespace, client.clientId);
          if (s === undefined || !t.sessions.has(s) || skipped.has(s)) return false;
          if (given.has(s)) return true;
          if (s.replaySeen?.has(busId)) {
            skipped.add(s);
            this.stats.duplicates++;
            return false;
          }
          given.add(s);
          this.stats.replayed++;
          return true;
        })) ?? Promise.resolve());
      }
      await Promise.all(commits);
      t.afterId = page[page.length - 1]!.id;
    }
  }

  private end(from: string, t: Taken): void {
    clearTimeout(t.timer);
    if (this.taken.get(from) === t) this.taken.delete(from);
    for (const s of t.sessions) s.replaySeen = undefined;
  }
}

/** The bus identities of the messages a session holds (stored by the node it was taken from). */
function heldBusIds(s: Session): string[] {
  const ids: string[] = [];
  for (const d of s.queue) if (d.message.busId !== undefined) ids.push(d.message.busId);
  for (const d of s.inflight.values()) if (d.message.busId !== undefined) ids.push(d.message.busId);
  return ids;
}
