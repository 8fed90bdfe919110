import type { Broker } from "./broker.js";
import type { Connection } from "./connection.js";
import { SessionPersistence } from "./session_persistence.js";
import { Session, type Delivery } from "./session.js";
import type { ClientInfo } from "./types.js";
import { publishWill } from "./will.js";

/**
 * Session lifecycle (§4.1, §3.1.2.11): open or resume on CONNECT, take over from an older
 * connection, go offline with the connection, expire, end. Persistent sessions are written
 * to the store as they change.
 */
export class SessionManager {
  /** Offline sessions that will expire; swept once a second. */
  private readonly offline = new Set<Session>();
  readonly persistence: SessionPersistence;

  /** Offline sessions that outlive their connection (a cluster's peers are told whether there are any). */
  /** Persistent sessions held here, connected or not (a cluster says whether it has any: cluster/durable_peers.ts). */
  persistentTotal = 0;
  /** Called when `persistentTotal` goes from 0 to 1 or back to 0. */
  onPersistentChange: (() => void) | undefined;

  get offlineCount(): number {
    return this.offline.size;
  }

  constructor(private readonly broker: Broker) {
    this.persistence = new SessionPersistence(broker.store, (err, what) => broker.logger.error({ err }, `session store: ${what} failed`));
  }

  open(conn: Connection, client: ClientInfo, cleanStart: boolean, expiryInterval: number): { session: Session; present: boolean } {
    const ns = this.broker.namespace(client.namespace);
    let existing = ns.sessions.get(client.clientId);
    if (existing?.connection) {
      existing.connection.disconnect(0x8e, "session taken over by a new connection");
      existing = ns.sessions.get(client.clientId);
    }
    let session: Session;
    let present = false;
    if (existing && !cleanStart) {
      session = existing;
      present = true;
      // A reconnection before the will delay has passed cancels the will (§3.1.3.2.2).
      clearTimeout(session.willTimer);
      session.pendingWill = undefined;
      session.client = client;
      this.offline.delete(session);
      const owner = this.ownerOf(client);
      if (owner !== session.owner) {
        // Another owner resumes the client id (same account): the session moves to its count.
        this.count(session, false);
        session.owner = owner;
      }
    } else {
      if (existing) this.end(existing);
      session = new Session(this.broker, ns.stats, `${client.namespace}\u0000${client.clientId}`, client.namespace, client.clientId, client);
      session.owner = this.ownerOf(client);
      ns.sessions.set(client.clientId, session);
      this.broker.sessionCount++;
    }
    session.expiryInterval = expiryInterval;
    session.connection = conn;
    session.disconnectedAt = undefined;
    ns.stats.connected++;
    this.count(session, session.persistent);
    if (session.persistent) {
      if (present) this.persistence.connected(session);
      else this.persistence.created(session);
    } else if (present) this.persistence.delete(session);
    return { session, present };
  }

  /** The connection of `session` closed: schedule its will, then keep or end the session. */
  detach(conn: Connection): void {
    const session = conn.session;
    if (!session || session.connection !== conn) return;
    session.connection = undefined;
    session.disconnectedAt = Date.now();
    session.stats.connected--;
    const will = conn.will;
    if (will && !conn.graceful) {
      const delay = Math.min(will.delay, session.expiryInterval);
      if (delay === 0) publishWill(this.broker, session.client, will);
      else {
        session.pendingWill = will;
        session.willTimer = setTimeout(() => {
          session.pendingWill = undefined;
          publishWill(this.broker, session.client, will);
        }, delay * 1000);
        session.willTimer.unref();
      }
    }
    if (session.expiryInterval === 0) this.end(session);
    else {
      this.offline.add(session);
      this.persistence.saved(session);
    }
  }

  /** Ends a session: its subscriptions go, a will still pending is sent now (§3.1.3.2.2). */
  end(session: Session): void {
    const ns = this.broker.namespace(session.namespace);
    if (ns.sessions.get(session.clientId) !== session) return;
    ns.sessions.delete(session.clientId);
    this.broker.sessionCount--;
    this.count(session, false);
    this.offline.delete(session);
    for (const filter of [...session.subscriptions.keys()]) this.broker.unsubscribe(session, filter);
    if (session.pendingWill) {
      clearTimeout(session.willTimer);
      const will = session.pendingWill;
      session.pendingWill = undefined;
      publishWill(this.broker, session.client, will);
    }
    this.persistence.delete(session);
  }

  /** Restores a session loaded from the store, offline. */
  adopt(session: Session): void {
    this.broker.namespace(session.namespace).sessions.set(session.clientId, session);
    this.broker.sessionCount++;
    session.owner = this.ownerOf(session.client);
    this.count(session, session.persistent);
    this.offline.add(session);
  }

  /**
   * Lets a session go from this node without ending it (another node takes it over: it stays
   * stored, cluster/session_handoff.ts): its connection is taken over, its subscriptions leave
   * the tree (and the bus), a will still pending is dropped (its client reconnected elsewhere,
   * §3.1.3.2.2). Its changes so far are written; `persistence.drained()` says when.
   */
  release(session: Session): void {
    if (session.connection) session.connection.disconnect(0x8e, "session taken over by a new connection on another node");
    const ns = this.broker.namespace(session.namespace);
    if (ns.sessions.get(session.clientId) !== session) return;
    ns.sessions.delete(session.clientId);
    this.broker.sessionCount--;
    this.count(session, false);
    this.offline.delete(session);
    clearTimeout(session.willTimer);
    session.pendingWill = undefined;
    for (const filter of [...session.subscriptions.keys()]) this.broker.unsubscribe(session, filter);
  }

  subscribed(session: Session, filters: Iterable<string>): void {
    if (session.persistent) this.persistence.subscribed(session, filters);
  }

  unsubscribed(session: Session, filters: string[]): void {
    if (session.persistent) this.persistence.unsubscribed(session, filters);
  }

  persistQueued(session: Session, delivery: Delivery): void {
    this.persistence.queued(session, delivery);
  }

  /**
   * For a CONNECT of `client` asking for a session that outlives its connection: how many
   * persistent sessions its namespace and its owner hold now, or undefined when it would not
   * make one more (it resumes or replaces one of the same owner).
   */
  persistentCounts(client: ClientInfo): { namespace: number; owner: number | undefined } | undefined {
    const ns = this.broker.namespace(client.namespace);
    const owner = this.ownerOf(client);
    const existing = ns.sessions.get(client.clientId);
    if (existing?.counted && existing.owner === owner) return undefined;
    return {
      namespace: ns.persistentSessions.count,
      owner: owner === undefined ? undefined : (ns.persistentSessions.byOwner.get(owner) ?? 0),
    };
  }

  private ownerOf(client: ClientInfo): string | undefined {
    return this.broker.hooks.sessionOwner?.(client) || undefined;
  }

  /** Keeps the namespace's count of persistent sessions (all and per owner) true. */
  private count(session: Session, persistent: boolean): void {
    if (session.counted === persistent) return;
    session.counted = persistent;
    const counts = this.broker.namespace(session.namespace).persistentSessions;
    const d = persistent ? 1 : -1;
    counts.count += d;
    this.persistentTotal += d;
    // Told at once, before the CONNACK: a cluster's peers must know before any message could match it.
    if (this.persistentTotal === (persistent ? 1 : 0)) this.onPersistentChange?.();
    if (session.owner !== undefined) {
      const n = (counts.byOwner.get(session.owner) ?? 0) + d;
      if (n > 0) counts.byOwner.set(session.owner, n);
      else counts.byOwner.delete(session.owner);
    }
  }

  sweep(now: number): void {
    for (const session of this.offline) {
      if (session.expiresAt() <= now) this.end(session);
    }
  }

  /**
   * Writes every persistent session still connected as it stands, and waits until everything
   * is committed (used at shutdown). An offline session is stored already: each of its changes
   * was written as it happened, its queued copies included (rewriting it would store the
   * payload of each of its messages once more).
   */
  async saveAll(sessions: Iterable<Session>): Promise<void> {
    for (const s of sessions) if (s.persistent && s.connection) this.persistence.saved(s);
    await this.persistence.drained();
  }
}
