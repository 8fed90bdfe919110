import type net from "node:net";
import type { MqttLimits } from "../config/schema.js";
import type { Logger } from "../observability/logger.js";
import type { BrokerRepository, StoredSession } from "../store/types.js";
import { AuthThrottle } from "./auth_throttle.js";
import { WriteBacklog } from "./backlog.js";
import { Connection, type TransportSocket } from "./connection.js";
import { deliver, drainQueue, resendInflight } from "./delivery.js";
import { CacheBudget } from "../store/budgeted_cache.js";
import { PendingConnections } from "./pending_connections.js";
import { RC } from "./reason_codes.js";
import { RetainedMessages, retainedMessageBytes } from "./retain.js";
import { Session, type InflightDelivery } from "./session.js";
import { messageFromStored, messageToStored, storedDeliveryOf } from "./session_persistence.js";
import { SessionManager } from "./sessions.js";
import { stampBefore, type ClusterLink, type ConnectionStamp } from "./cluster_link.js";
import { BrokerStats, NamespaceStats } from "./stats.js";
import { SubscriptionTree, type SharedGroup, type Subscriber } from "./subscription_tree.js";
import { parseSharedFilter, topicLevels, topicMatches, type SharedFilter } from "./topics.js";
import type { BrokerHooks, ClientInfo, Message, QoS, SubscriptionOptions } from "./types.js";
import { publishSysTopics } from "./sys.js";

/** One account's world: its subscriptions, retained messages and sessions. */
export interface Namespace {
  readonly name: string;
  readonly tree: SubscriptionTree<Session>;
  readonly retained: RetainedMessages;
  readonly sessions: Map<string, Session>;
  readonly stats: NamespaceStats;
  /** Sessions that outlive their connection (sessions.ts counts them), in all and by owner. */
  readonly persistentSessions: { count: number; byOwner: Map<string, number> };
}

export interface BrokerOptions {
  limits: MqttLimits;
  hooks: BrokerHooks;
  logger: Logger;
  /** Where retained messages and persistent sessions live; omit for a memory-only broker. */
  store?: BrokerRepository;
  /** Seconds between `$SYS` updates; 0 disables them. */
  sysInterval?: number;
}

/**
 * The MQTT broker: accepts connections from any transport, routes messages between the
 * sessions of one namespace, keeps retained messages, sessions and wills. It knows nothing of
 * devices or data: authentication, authorization and "a message was published" go through
 * `hooks`.
 */
export class Broker {
  readonly limits: MqttLimits;
  readonly hooks: BrokerHooks;
  readonly logger: Logger;
  readonly store: BrokerRepository | undefined;
  readonly stats = new BrokerStats();
  readonly sessions: SessionManager;
  readonly authThrottle: AuthThrottle;
  readonly connections = new Set<Connection>();
  readonly pendingConnections: PendingConnections;
  /** Bytes written to sockets and not yet taken by the kernel, all connections together. */
  readonly backlog = new WriteBacklog();
  /** The byte budget all namespaces' match caches share. */
  readonly matchCacheBudget: CacheBudget;
  readonly startedAt = Date.now();
  sessionCount = 0;
  retainedCount = 0;
  /**
   * Routing work done so far, ever growing: one per message routed plus one per subscription
   * it matched (and, from SUBSCRIBE, one per filter and per retained message sent). A
   * connection charges itself the growth while it handles a packet, and hands the event loop
   * back once a read's packets have cost `mqtt.maxTurnMs` (connection.ts).
   */
  routeWork = 0;
  /** The other nodes, when this one is part of a cluster (`attachCluster`); undefined on a single node. */
  cluster: ClusterLink | undefined;
  /**
   * With a cluster on a shared store: brings the client id's session here from the node that
   * holds it, before CONNECT opens it (cluster/session_handoff.ts). Resolves with a reason when
   * it cannot, and the CONNECT is refused (0x88).
   */
  claimSession: ((namespace: string, clientId: string, cleanStart: boolean) => Promise<string | undefined>) | undefined;
  private readonly namespaces = new Map<string, Namespace>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sysTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BrokerOptions & { authFailureDelayMs?: number; authFailureDelayMaxMs?: number }) {
    this.limits = options.limits;
    this.hooks = options.hooks;
    this.logger = options.logger;
    this.store = options.store;
    this.sessions = new SessionManager(this);
    this.pendingConnections = new PendingConnections(this.limits.maxPendingConnections, this.limits.maxPendingConnectionsPerAddress, this.limits.connectTimeoutMs, (remoteAddress) => {
      this.stats.pendingRefused++;
      this.logger.debug({ remoteAddress, pending: this.pendingConnections.size }, "too many connections in progress, socket closed");
    });
    this.matchCacheBudget = new CacheBudget(this.limits.matchCacheBytes);
    this.authThrottle = new AuthThrottle(options.authFailureDelayMs ?? 250, options.authFailureDelayMaxMs ?? 5000);
  }

  /**
   * Joins a cluster, before `start`: from then on retained messages live where the link keeps
   * them (they are not loaded from, nor written to, this node's store), `$share` groups are
   * served through the link, and accepted messages go to it too.
   */
  attachCluster(link: ClusterLink): void {
    this.cluster = link;
  }

  /** Loads retained messages and persistent sessions, and starts the timers. */
  async start(): Promise<void> {
    if (this.store) {
      let skipped = 0;
      for (const r of this.cluster ? [] : await this.store.loadRetained()) {
        // Stored before the bound existed (or under a larger one): loading it would bring back
        // what the bound is for, at every start.
        if (topicLevels(r.topic) > this.limits.maxTopicLevels) {
          skipped++;
          this.logger.warn({ namespace: r.namespace, topic: r.topic.slice(0, 200), levels: topicLevels(r.topic) }, "stored retained message deeper than maxTopicLevels, not loaded");
          continue;
        }
        this.namespace(r.namespace).retained.set(messageFromStored(r));
        this.retainedCount++;
      }
      if (skipped > 0) this.logger.warn({ skipped, maxTopicLevels: this.limits.maxTopicLevels }, "retained messages skipped at start");
      for (const stored of await this.store.loadSessions()) this.sessions.adopt(this.restoreSession(stored));
      this.logger.info({ sessions: this.sessionCount, retained: this.retainedCount }, "broker state restored");
    }
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    this.sweepTimer.unref();
    const sys = this.options.sysInterval ?? 10;
    if (sys > 0) {
      this.sysTimer = setInterval(() => publishSysTopics(this), sys * 1000);
      this.sysTimer.unref();
    }
  }

  /**
   * A session as the store holds it, made live: its subscriptions in the tree (and so its
   * interest on the bus), its messages queued or in flight. Into `into` when given (a session
   * already subscribed while it was being fetched: cluster/session_handoff.ts), else a new one.
   * Not yet among the namespace's sessions: `sessions.adopt` puts it there.
   */
  restoreSession(stored: StoredSession, into?: Session): Session {
    const ns = this.namespace(stored.namespace);
    const client = { ...(stored.principal as unknown as ClientInfo), namespace: stored.namespace, clientId: stored.clientId };
    const session = into ?? new Session(this, ns.stats, `${stored.namespace}\u0000${stored.clientId}`, stored.namespace, stored.clientId, client);
    session.client = client;
    session.expiryInterval = stored.expiryInterval;
    session.disconnectedAt = stored.disconnectedAt ?? Date.now();
    for (const id of stored.incomingQos2) session.incomingQos2.add(id);
    for (const sub of stored.subscriptions) {
      const shared = sharedPartsOf(sub.filter);
      if (topicLevels(shared ? shared.filter : sub.filter) > this.limits.maxTopicLevels) {
        this.logger.warn({ namespace: stored.namespace, clientId: stored.clientId, filter: sub.filter.slice(0, 200) }, "stored subscription deeper than maxTopicLevels, not restored");
        continue;
      }
      if (session.subscriptions.size >= this.limits.maxSubscriptionsPerSession && !session.subscriptions.has(sub.filter)) {
        this.logger.warn({ namespace: stored.namespace, clientId: stored.clientId, max: this.limits.maxSubscriptionsPerSession }, "stored subscription past maxSubscriptionsPerSession, not restored");
        continue;
      }
      this.subscribe(session, sub.filter, shared, { qos: sub.qos, nl: sub.nl, rap: sub.rap, rh: sub.rh, id: sub.id });
    }
    for (const m of stored.messages) {
      const d = storedDeliveryOf(m);
      session.restoreSeq(m.seq);
      if (m.state === "queued") {
        session.queue.push(d);
        session.queueBytes += d.bytes;
      } else session.inflight.set(m.packetId!, d as InflightDelivery);
    }
    return session;
  }

  /**
   * Counts every socket `server` accepts as a connection in progress from the TCP accept (caps
   * and `connectTimeoutMs`, pending_connections.ts). Every MQTT listener calls it first.
   */
  watchListener(server: net.Server): void {
    this.pendingConnections.watch(server);
  }

  /**
   * Takes a new network connection from a transport, with the pending slot its TCP socket took
   * at accept (`pending`); without one (already gone, or not from a watched listener) it takes
   * one now, or is closed at once when too many connections are in progress.
   */
  attach(socket: TransportSocket): Connection | undefined {
    const slot = socket.pending?.held ? socket.pending : this.pendingConnections.hold(socket.remoteAddress, () => socket.stream.destroy());
    if (!slot) {
      socket.stream.on("error", () => undefined);
      socket.stream.destroy();
      return undefined;
    }
    const conn = new Connection(this, socket, slot);
    this.connections.add(conn);
    this.stats.connectionsTotal[socket.transport] = (this.stats.connectionsTotal[socket.transport] ?? 0) + 1;
    return conn;
  }

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    if (conn.client && conn.session) {
      this.logger.debug({ clientId: conn.client.clientId, reason: conn.closeReason }, "client disconnected");
      this.hooks.clientDisconnected?.(conn.client, conn.closeReason ?? "closed", conn.closeReasonCode);
    }
    this.sessions.detach(conn);
  }

  clientConnected(session: Session, present: boolean): void {
    this.logger.debug({ clientId: session.clientId, namespace: session.namespace, present }, "client connected");
    const conn = session.connection;
    // Before anything is delivered: the other nodes end their older connection with this client id.
    if (this.cluster && conn) conn.clusterStamp = this.cluster.clientConnected(session.namespace, session.clientId);
    this.hooks.clientConnected?.(session.client, present);
    if (present) {
      resendInflight(session);
      drainQueue(session);
    }
  }

  namespace(name: string): Namespace {
    let ns = this.namespaces.get(name);
    if (!ns) {
      ns = { name, tree: new SubscriptionTree(this.matchCacheBudget), retained: new RetainedMessages(), sessions: new Map(), stats: new NamespaceStats(), persistentSessions: { count: 0, byOwner: new Map() } };
      this.namespaces.set(name, ns);
    }
    return ns;
  }

  /** A namespace's session of `clientId`, without creating the namespace. */
  sessionOf(namespace: string, clientId: string): Session | undefined {
    return this.namespaces.get(namespace)?.sessions.get(clientId);
  }

  /** A namespace's counters, without creating the namespace. */
  statsOf(name: string): NamespaceStats | undefined {
    return this.namespaces.get(name)?.stats;
  }

  namespaceList(): IterableIterator<Namespace> {
    return this.namespaces.values();
  }

  /**
   * An accepted message enters the broker: the published hook sees it, it is retained if
   * asked, and routed. Returns the hook's promise when the hook wants the ack held.
   */
  publish(message: Message, client: ClientInfo | undefined, origin: "client" | "will" = "client"): Promise<void> | undefined {
    const namespace = client?.namespace;
    if (namespace === undefined) return undefined;
    const ns = this.namespace(namespace);
    ns.stats.messagesReceived++;
    ns.stats.bytesReceived += message.payload.length;
    let held: Promise<void> | undefined;
    if (this.hooks.published) {
      try {
        const r = this.hooks.published({ client, message, origin });
        if (r) held = r;
      } catch (err) {
        this.logger.error({ err }, "published hook threw");
      }
    }
    if (message.retain) this.retain(ns, message);
    // Onto the bus first: it gives the message its identity there (`busId`), which the copies
    // queued here carry (the envelopes leave at the end of the turn either way).
    let sent: Promise<void> | undefined;
    if (this.cluster) {
      sent = this.cluster.publish(namespace, message);
      // A will has no ack to hold: the bus's failure is counted by the link, not thrown here.
      if (sent && origin === "will") {
        sent.catch(() => undefined);
        sent = undefined;
      }
    }
    // Copies queued for offline persistent sessions are written by group commit; the ack waits
    // for that commit, as it waited for the row-by-row INSERTs before (docs/mqtt.md).
    const stored = this.sessions.persistence.track(() => this.route(ns, message));
    const waits = [held, stored, sent].filter((p): p is Promise<void> => p !== undefined);
    if (waits.length <= 1) return waits[0];
    return Promise.all(waits).then(() => undefined);
  }

  /**
   * A message another node accepted, for this node's subscribers (the bus brought it because
   * they hold a matching filter). `$share` groups are not served here: they get their copy
   * through `routeToGroup`. A namespace this node does not know has no one to deliver to.
   */
  routeFromCluster(namespace: string, message: Message): void {
    const ns = this.namespaces.get(namespace);
    if (!ns) return;
    this.sessions.persistence.track(() => this.route(ns, message, undefined, false))?.catch(() => undefined); // logged where it failed
  }

  /**
   * Another node says the client id `clientId` of `namespace` connected there, at `stamp`. An
   * older live connection here is taken over, as a second CONNECT on this node would take it
   * (`ended`); a newer one stays (`kept`, with its stamp: the other node must hear of it and end
   * its own). Undefined when no connection here has that client id.
   */
  connectedElsewhere(namespace: string, clientId: string, stamp: ConnectionStamp): { ended: true } | { kept: ConnectionStamp } | undefined {
    const conn = this.namespaces.get(namespace)?.sessions.get(clientId)?.connection;
    if (!conn?.clusterStamp) return undefined;
    if (!stampBefore(conn.clusterStamp, stamp)) return { kept: conn.clusterStamp };
    conn.disconnect(RC.SESSION_TAKEN_OVER, "session taken over by a new connection on another node");
    return { ended: true };
  }

  /**
   * A message for one `$share/{group}/{filter}` that the bus gave to this node: one member here
   * gets it. Returns false when no member is left here (its last one just went).
   */
  routeToGroup(namespace: string, group: string, filter: string, message: Message): boolean {
    const ns = this.namespaces.get(namespace);
    if (!ns) return false;
    const g = ns.tree.match(message.topic).groups.find((candidate) => candidate.name === group && candidate.filter === filter);
    if (!g || g.members.size === 0 || !topicMatches(filter, message.topic)) return false;
    this.routeWork += 1;
    this.sessions.persistence.track(() => this.routeShared(g, message))?.catch(() => undefined); // logged where it failed
    return true;
  }

  /**
   * `message` for the subscribers `accept` chooses, given as routing gives it (one copy per
   * session, No Local, Retain As Published; shared groups left out): the messages kept for a dead
   * node, replayed into the sessions taken from it (cluster/orphan_replay.ts).
   */
  routeTo(namespace: string, message: Message, accept: (client: ClientInfo) => boolean): void {
    const ns = this.namespaces.get(namespace);
    if (ns) this.route(ns, message, accept);
  }

  /** A retained message as the cluster keeps it (set on any node, this one included): kept here for SUBSCRIBE. */
  applyRetained(namespace: string, message: Message): void {
    if (topicLevels(message.topic) > this.limits.maxTopicLevels) {
      this.stats.drop("topic_too_deep");
      return;
    }
    const ns = this.namespace(namespace);
    const previous = ns.retained.get(message.topic);
    if (message.payload.length > 0) {
      // The same bounds as for this node's own clients: the bucket may hold more than this
      // node can (each node checks only what its clients set), or what someone else put there.
      const after = ns.retained.bytes - (previous ? retainedMessageBytes(previous) : 0) + retainedMessageBytes(message);
      if ((!previous && ns.retained.size >= this.limits.maxRetainedPerAccount) || after > this.limits.maxRetainedBytesPerAccount) {
        this.stats.drop("retained_limit");
        return;
      }
    }
    ns.retained.set(message);
    this.retainedCount += (ns.retained.get(message.topic) ? 1 : 0) - (previous ? 1 : 0);
  }

  /** Publishes a broker-made message (e.g. `$SYS`) into one namespace. */
  publishInternal(namespace: string, message: Message): void {
    const ns = this.namespace(namespace);
    if (message.retain) ns.retained.set(message);
    // Each node's `$SYS` is its own: its groups are served here, whatever the cluster.
    this.route(ns, message, undefined, true);
  }

  /**
   * A message from the platform itself (an action, a service call): routed like a client's,
   * retained if asked, or given only to the sessions `only` accepts (e.g. one device's).
   */
  inject(namespace: string, message: Message, only?: (client: ClientInfo) => boolean): void {
    const ns = this.namespace(namespace);
    ns.stats.messagesReceived++;
    if (message.retain && !only) this.retain(ns, message);
    // A targeted message is not retained, so it must not arrive flagged as retained either.
    // A message for chosen sessions stays on this node: whom `only` chooses cannot travel.
    // Sent before routing, as `publish` does, for its identity on the bus.
    if (this.cluster && !only) this.cluster.publish(namespace, message)?.catch(() => undefined);
    // Its copies for offline sessions are one change, as a client's publish's are; no ack waits.
    this.sessions.persistence.track(() => this.route(ns, only && message.retain ? { ...message, retain: false } : message, only))?.catch(() => undefined); // logged where it failed
  }

  private retain(ns: Namespace, message: Message): void {
    // Clients' topics are checked on PUBLISH; this catches the platform's own (inject).
    if (topicLevels(message.topic) > this.limits.maxTopicLevels) {
      this.stats.drop("topic_too_deep");
      this.logger.warn({ namespace: ns.name, levels: topicLevels(message.topic) }, "topic deeper than maxTopicLevels, not retained");
      return;
    }
    const previous = ns.retained.get(message.topic);
    const had = previous !== undefined;
    if (message.payload.length > 0 && !had && ns.retained.size >= this.limits.maxRetainedPerAccount) {
      this.stats.drop("retained_limit");
      this.logger.warn({ namespace: ns.name, topic: message.topic }, "retained message limit reached, not retained");
      return;
    }
    // Kept without the encodings routing caches on the message (`wire`): they would double or
    // triple what a retained message holds, outside the count below.
    const { wire: _wire, ...kept } = message;
    if (message.payload.length > 0) {
      const after = ns.retained.bytes - (previous ? retainedMessageBytes(previous) : 0) + retainedMessageBytes(kept);
      if (after > this.limits.maxRetainedBytesPerAccount) {
        this.stats.drop("retained_limit");
        this.logger.warn({ namespace: ns.name, topic: message.topic.slice(0, 200), bytes: ns.retained.bytes }, "retained bytes limit (maxRetainedBytesPerAccount) reached, not retained");
        // The topic's older retained message goes too: a subscriber must not get a value the
        // publisher has replaced.
        if (had) this.unretain(ns, message.topic);
        return;
      }
    }
    ns.retained.set(kept);
    this.retainedCount += (ns.retained.get(message.topic) ? 1 : 0) - (had ? 1 : 0);
    if (this.cluster) this.cluster.retain(ns.name, kept);
    else this.store?.putRetained(ns.name, messageToStored(message)).catch((err) => this.logger.error({ err }, "storing retained message failed"));
  }

  private unretain(ns: Namespace, topic: string): void {
    const empty: Message = { topic, payload: Buffer.alloc(0), qos: 0, retain: true, properties: undefined, expiresAt: undefined, publisher: undefined };
    ns.retained.set(empty);
    this.retainedCount--;
    if (this.cluster) this.cluster.retain(ns.name, empty);
    else this.store?.putRetained(ns.name, messageToStored(empty)).catch((err) => this.logger.error({ err }, "storing retained message failed"));
  }

  /**
   * Delivers to every matching subscription of the namespace. A session with several matching
   * subscriptions gets one copy at the highest QoS, carrying all their identifiers (§3.3.4).
   */
  private route(ns: Namespace, message: Message, only?: (client: ClientInfo) => boolean, sharedHere = this.cluster === undefined): void {
    const match = ns.tree.match(message.topic);
    this.routeWork += 1 + match.subscribers.length + match.groups.length;
    const subscribers = only ? match.subscribers.filter((s) => only(s.session.client)) : match.subscribers;
    // A targeted message skips shared groups: it is meant for chosen sessions, not one of a pool.
    // In a cluster the bus picks the node that serves each group (`routeToGroup`), this one included.
    const groups = only || !sharedHere ? [] : match.groups;
    if (subscribers.length === 1) {
      const s = subscribers[0]!;
      if (!(s.options.nl && s.session.key === message.publisher)) {
        const o = s.options;
        deliver(s.session, message, minQos(message.qos, o.qos), o.rap && message.retain, o.id === undefined ? undefined : [o.id]);
      }
    } else if (subscribers.length > 1) {
      this.routeOverlapping(subscribers, message);
    }
    for (const g of groups) this.routeShared(g, message);
  }

  private routeOverlapping(subscribers: Subscriber<Session>[], message: Message): void {
    const bySession = new Map<Session, { qos: QoS; retain: boolean; ids: number[] | undefined }>();
    for (const { session, options: o } of subscribers) {
      if (o.nl && session.key === message.publisher) continue;
      const qos = minQos(message.qos, o.qos);
      const retain = o.rap && message.retain;
      const agg = bySession.get(session);
      if (!agg) {
        bySession.set(session, { qos, retain, ids: o.id === undefined ? undefined : [o.id] });
        continue;
      }
      if (qos > agg.qos) agg.qos = qos;
      agg.retain ||= retain;
      if (o.id !== undefined) (agg.ids ??= []).push(o.id);
    }
    for (const [session, agg] of bySession) deliver(session, message, agg.qos, agg.retain, agg.ids);
  }

  /** One member of the group gets the message: the next connected one in turn, else the next one. */
  private routeShared(group: SharedGroup<Session>, message: Message): void {
    const members = [...group.members.values()];
    if (members.length === 0) return;
    let chosen: Subscriber<Session> | undefined;
    for (let i = 0; i < members.length; i++) {
      const candidate = members[(group.cursor + i) % members.length]!;
      if (candidate.session.connection) {
        chosen = candidate;
        group.cursor = (group.cursor + i + 1) % members.length;
        break;
      }
    }
    if (!chosen) {
      chosen = members[group.cursor % members.length]!;
      group.cursor = (group.cursor + 1) % members.length;
    }
    const o = chosen.options;
    deliver(chosen.session, message, minQos(message.qos, o.qos), o.rap && message.retain, o.id === undefined ? undefined : [o.id]);
  }

  /** Returns true when the session had no subscription on this exact filter before. */
  subscribe(session: Session, filter: string, shared: SharedFilter | undefined, options: SubscriptionOptions): boolean {
    const ns = this.namespace(session.namespace);
    const isNew = !session.subscriptions.has(filter);
    session.subscriptions.set(filter, options);
    if (isNew) ns.stats.subscriptions++;
    ns.tree.add(shared ? shared.filter : filter, shared?.group, session.key, { session, options });
    if (isNew) this.cluster?.interestAdded(ns.name, shared ? shared.filter : filter, shared?.group);
    return isNew;
  }

  /**
   * `keepEntry`: leave the tree's entry for the session's key (the tree holds one per key): a
   * claim's pending session dropped after another session of its key was made visible (a dead
   * node's, adopted meanwhile), whose subscribe replaced the pending one's entry.
   */
  unsubscribe(session: Session, filter: string, keepEntry = false): boolean {
    if (!session.subscriptions.delete(filter)) return false;
    const shared = sharedPartsOf(filter);
    const ns = this.namespace(session.namespace);
    ns.stats.subscriptions--;
    if (!keepEntry) ns.tree.remove(shared ? shared.filter : filter, shared?.group, session.key);
    this.cluster?.interestRemoved(ns.name, shared ? shared.filter : filter, shared?.group);
    return true;
  }

  retainedFor(namespace: string, filter: string): Message[] {
    return this.namespace(namespace).retained.match(filter, Date.now());
  }

  /** Closes every live connection whose client matches, e.g. when its token is revoked. */
  disconnectWhere(predicate: (client: ClientInfo) => boolean, reasonCode: number, reason: string): number {
    let n = 0;
    for (const conn of [...this.connections]) {
      if (conn.client && predicate(conn.client)) {
        conn.disconnect(reasonCode, reason);
        n++;
      }
    }
    return n;
  }

  private sweep(): void {
    const now = Date.now();
    // Connections in progress are closed at their deadline by their pending slot.
    for (const conn of this.connections) {
      if (conn.state === "connected" && conn.keepAlive > 0 && now - conn.lastPacketAt > conn.keepAlive * 1500) {
        conn.disconnect(RC.KEEP_ALIVE_TIMEOUT, "keep alive timeout");
      }
    }
    this.sessions.sweep(now);
  }

  /** Tells clients the server is going away, and stores every persistent session. */
  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.sysTimer);
    for (const conn of [...this.connections]) {
      // The session must survive this: shutdown is not the client's fault, so no will either.
      conn.graceful = true;
      conn.disconnect(RC.SERVER_SHUTTING_DOWN, "server shutting down");
    }
    const all: Session[] = [];
    for (const ns of this.namespaces.values()) all.push(...ns.sessions.values());
    await this.sessions.saveAll(all);
  }
}

function minQos(a: QoS, b: QoS): QoS {
  return a < b ? a : b;
}

/** The shared-subscription parts of a filter already accepted by SUBSCRIBE. */
function sharedPartsOf(filter: string): SharedFilter | undefined {
  const shared = parseSharedFilter(filter);
  return shared && shared !== "invalid" ? shared : undefined;
}
