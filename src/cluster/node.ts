import { randomBytes } from "node:crypto";
import { connect, type ConnectionOptions, type NatsConnection, type Subscription } from "nats";
import type { Broker } from "../mqtt/broker.js";
import type { ClusterLink } from "../mqtt/cluster_link.js";
import { RC } from "../mqtt/reason_codes.js";
import { topicLevels } from "../mqtt/topics.js";
import type { Message } from "../mqtt/types.js";
import type { Logger } from "../observability/logger.js";
import { Confirmations } from "./confirmations.js";
import { DurablePeers } from "./durable_peers.js";
import { BatchBuilder, MAX_BATCH_ENVELOPES, splitBatch } from "./batch.js";
import { decodeEnvelope, EnvelopeWriter, type Envelope } from "./envelope.js";
import { InterestTable, type BusSubscription } from "./interest.js";
import { KvRetainedStore, type SharedRetainedStore } from "./retained_store.js";
import { ClusterStats, type ClusterDropReason } from "./stats.js";
import { CONNECT_WILDCARD, connectSubject, overflowSubject, topicSubject } from "./subjects.js";
import { ConnectClock, decodeNotice, encodeNotice, type ConnectNotice } from "./connect_notice.js";
import { natsServers, withoutCredentials } from "./nats_url.js";
import type { ConnectionStamp } from "../mqtt/cluster_link.js";

// Kept importable from here (tests and older callers).
export { natsServers, withoutCredentials } from "./nats_url.js";

export interface ClusterOptions {
  /** NATS server URL(s), comma-separated (`nats://10.0.0.5:4222,nats://10.0.0.6:4222`). */
  url: string;
  /** This node's name on the bus; its messages carry it (with a per-start nonce) as their origin. */
  nodeId: string;
  /** How long a QoS 1/2 PUBLISH's ack waits for the bus to confirm it (docs/cluster.md). */
  ackTimeoutMs: number;
  /** Between heartbeats saying whether this node holds offline persistent sessions (durable_peers.ts). */
  heartbeatMs: number;
  logger: Logger;
}

/** How many origins the duplicate filter remembers (a node restarted is a new origin). */
const MAX_ORIGINS = 4096;
/** How far behind an origin's newest sequence a copy can be: copies of one NATS message come together, a batch holds at most this many. */
const DUPLICATE_WINDOW = MAX_BATCH_ENVELOPES;
/** One batch's buffer: well under NATS's max_payload (1 MB by default), and few enough allocations. */
const BATCH_BYTES = 64 * 1024;
const SUBJECT_CACHE_ENTRIES = 10_000;
const SUBJECT_CACHE_BYTES = 8 * 1024 * 1024;
/** Retained puts kept while the bucket is not open yet. */
const MAX_PENDING_RETAINED = 10_000;

/**
 * This node's part of a cluster: two NATS connections, the interest table, the retained-message
 * store, and the checks on everything that comes off the bus. Plain subscriptions and all
 * publishing share the `bus` connection, opened with no echo, so the server never sends a node
 * its own messages back (its own subscribers got them from its broker already). Queue
 * subscriptions for `$share` groups live on a second connection, which does hear this node's
 * messages: the bus may well choose this node to serve a group, and no echo would make it skip
 * the node altogether, losing the message for a group whose members are all here.
 */
export class ClusterNode implements ClusterLink {
  readonly stats = new ClusterStats();
  /** The origin id this node's messages carry: node id and a nonce of this start. */
  readonly origin: string;
  private readonly interest: InterestTable;
  private readonly writer: EnvelopeWriter;
  private readonly lastSeq = new Map<string, number>();
  private broker: Broker | undefined;
  private bus: NatsConnection | undefined;
  private groups: NatsConnection | undefined;
  private retained: SharedRetainedStore | undefined;
  private retainedReady = false;
  private readonly pendingRetained: { namespace: string; message: Message }[] = [];
  private confirmations: Confirmations<Published> | undefined;
  private busUp = false;
  private groupsUp = false;
  private stopped = false;
  private seq = 0;
  /** Envelopes waiting to go out together, all for one subject (`sendBatch`). */
  private readonly batch = new BatchBuilder(BATCH_BYTES);
  private batchScheduled = false;
  /** Subjects and envelope heads by namespace and topic (`routeOf`). */
  private readonly subjects = new Map<string, Map<string, Route>>();
  private subjectCount = 0;
  private subjectBytes = 0;
  /** Stamps this node's connections (`clientConnected`). */
  private readonly clock = new ConnectClock();
  /** Subscriptions asked for before the connections opened: made once they are. */
  private readonly waiting = new Set<LazySubscription>();
  /** Peers holding offline persistent sessions, whom a QoS 1/2 ack waits for. */
  private peers: DurablePeers | undefined;
  /**
   * Keeps the QoS 1/2 messages of one confirmation for the persistent sessions of nodes the
   * drain found gone (orphans.ts), before their acks; set when sessions are shared in PostgreSQL.
   * `startedAt`: when the confirmation began, so a keep that came too late fails the acks.
   */
  keepOrphans: ((gone: string[], published: Published[], startedAt: number) => Promise<void>) | undefined;
  /** Called when the bus connection is back after being lost (the other nodes found this one gone meanwhile). */
  onBusBack: (() => void) | undefined;
  /** Requests this node answers (`serve`), by subject. */
  private readonly services = new Map<string, (data: Uint8Array) => Promise<Uint8Array | undefined>>();

  constructor(private readonly options: ClusterOptions) {
    this.origin = `${options.nodeId}/${randomBytes(4).toString("hex")}`;
    this.writer = new EnvelopeWriter(this.origin);
    this.interest = new InterestTable(
      { subscribe: (subject, queue, onMessage) => this.subscribe(subject, queue, onMessage) },
      (subject, data) => this.plain(subject, data),
      (subject, data, target) => this.group(subject, data, target),
    );
  }

  get available(): boolean {
    return this.busUp && this.groupsUp && this.retainedReady && !this.stopped;
  }

  /** The bus connection once opened, for the cluster's control messages (relay_downlink.ts). */
  get connection(): NatsConnection | undefined {
    return this.bus;
  }

  /** NATS subscriptions held for interest now (what the node hears). */
  heldSubjects(): { subject: string; queue: string | undefined }[] {
    return this.interest.held();
  }

  /**
   * Starts connecting and returns at once: the node serves HTTP and refuses MQTT connections
   * (CONNACK 0x88) until the bus is reached and the retained messages are loaded; nats.js keeps
   * trying, and reconnects by itself whenever the connection drops.
   */
  start(broker: Broker): void {
    this.broker = broker;
    void this.open().catch((err: unknown) => this.options.logger.error({ err }, "cluster: could not start"));
  }

  private async open(): Promise<void> {
    const { servers, user, pass } = natsServers(this.options.url);
    // noAsyncTraces: nats.js otherwise builds an Error with a stack for every request (the drain of
    // every QoS 1/2 confirmation), 4.5 % of a publishing node's time in the cluster-qos1 profile.
    const common = { servers, ...(user !== undefined && { user, pass }), noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 100, pingInterval: 10_000 };
    const bus = await this.firstConnect({ ...common, name: `sluice ${this.origin} bus`, noEcho: true });
    const groups = bus && (await this.firstConnect({ ...common, name: `sluice ${this.origin} groups` }));
    if (!bus || !groups || this.stopped) {
      await Promise.all([bus?.close(), groups?.close()]);
      return;
    }
    this.bus = bus;
    this.groups = groups;
    this.busUp = true;
    this.groupsUp = true;
    const peers = new DurablePeers({
      origin: this.origin, heartbeatMs: this.options.heartbeatMs, maxPeers: MAX_ORIGINS, timeoutMs: this.options.ackTimeoutMs, logger: this.options.logger,
      // Any persistent session, connected too: one that goes offline queues copies at once, and the
      // peers must already wait for them (a session's first moments offline lost acknowledged
      // messages when only offline ones counted: review14_kill_handoff).
      durable: () => (this.broker?.sessions.persistentTotal ?? 0) > 0,
      // A `$share` copy for one of its sessions comes on the groups connection, not with the
      // drain request: a round trip there first (the server queued the copy to it before it
      // passed the request on, since both came in order from the publisher).
      drained: () => groups.flush().then(() => this.broker?.sessions.persistence.drained()),
      malformed: () => this.stats.drop("malformed"),
    });
    this.peers = peers;
    peers.start(bus);
    // Confirmed: the bus has the messages (PONG), and the peers holding offline persistent
    // sessions committed the copies they queued from them (docs/cluster.md).
    // Peers found gone (dead, or cut off from NATS) did not get the messages for their sessions:
    // they are kept for whoever takes those sessions (docs/cluster.md, "The adoption gap").
    this.confirmations = new Confirmations<Published>((published, startedAt) => {
      this.sendBatch();
      return Promise.all([bus.flush().then(() => this.ownGroupCopies(groups)), peers.drain(startedAt)]).then(([, gone]) => {
        if (gone.length > 0 && this.keepOrphans) return this.keepOrphans(gone, published, startedAt);
      });
    }, this.options.ackTimeoutMs, () => unavailable("the bus did not confirm the message"));
    // A node going from no persistent session to one says so at once, before that session's CONNACK.
    if (this.broker) this.broker.sessions.onPersistentChange = () => peers.beat(false);
    this.watch(bus, "bus", (up) => {
      if (up && !this.busUp) this.onBusBack?.();
      this.busUp = up;
      // Retained messages set while this node was cut off: read before taking clients again.
      if (up && this.retained) {
        this.retainedReady = false;
        const store = this.retained;
        void store.resume().then(() => {
          if (this.retained === store) this.retainedReady = true;
        });
      }
    });
    this.watch(groups, "groups", (up) => (this.groupsUp = up));
    // Connect notices of every namespace: few, and each may end a connection here.
    bus.subscribe(CONNECT_WILDCARD, {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.connectNotice(msg.subject, msg.data);
        } catch (error) {
          this.stats.drop("handler_error");
          this.options.logger.error({ err: error }, "cluster: a connect notice could not be handled");
        }
      },
    });
    for (const [subject, handler] of this.services) this.serveOn(bus, subject, handler);
    for (const lazy of [...this.waiting]) lazy.open();
    this.waiting.clear();
    this.options.logger.info({ servers: bus.getServer(), origin: this.origin }, "cluster: connected to NATS");
    await this.openRetained(new KvRetainedStore(bus, this.origin, this.stats, this.options.logger));
  }

  /**
   * Tries until NATS answers or the node stops (nats.js's own wait for a first connection
   * cannot be called off). Once connected, nats.js reconnects by itself.
   */
  private async firstConnect(options: ConnectionOptions): Promise<NatsConnection | undefined> {
    let logged = false;
    while (!this.stopped) {
      try {
        return await connect(options);
      } catch (err) {
        if (!logged) this.options.logger.warn({ err, servers: withoutCredentials(this.options.url.split(",").map((s) => s.trim())) }, "cluster: NATS unreachable; refusing MQTT clients (CONNACK 0x88) until it answers");
        logged = true;
        await new Promise((r) => setTimeout(r, 500).unref());
      }
    }
    return undefined;
  }

  private async openRetained(store: SharedRetainedStore): Promise<void> {
    for (;;) {
      try {
        await store.start((namespace, message) => this.broker?.applyRetained(namespace, message));
        break;
      } catch (err) {
        if (this.stopped) return;
        // JetStream off, or not reachable yet: no node may take clients that would see retained
        // messages differ from node to node.
        this.options.logger.error({ err }, "cluster: the retained-message bucket cannot be opened (is JetStream enabled on the NATS server?); retrying");
        await new Promise((r) => setTimeout(r, 2000).unref());
      }
    }
    this.retained = store;
    for (const p of this.pendingRetained.splice(0)) store.put(p.namespace, p.message);
    this.retainedReady = true;
    this.options.logger.info("cluster: retained messages loaded; taking MQTT clients");
  }

  private watch(nc: NatsConnection, which: string, set: (up: boolean) => void): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") {
          set(false);
          this.stats.disconnects++;
          this.options.logger.warn({ connection: which, server: s.data }, "cluster: lost NATS; refusing new MQTT work until it is back");
        } else if (s.type === "reconnect") {
          set(true);
          this.options.logger.info({ connection: which, server: s.data }, "cluster: NATS is back");
        }
      }
    })();
    nc.closed().then(() => set(false), () => set(false));
  }

  private subscribe(subject: string, queue: string | undefined, onMessage: (subject: string, data: Uint8Array) => void): BusSubscription {
    const lazy = new LazySubscription(() => {
      const nc = queue === undefined ? this.bus : this.groups;
      if (!nc) return undefined;
      this.stats.subscriptions++;
      return nc.subscribe(subject, {
        queue,
        callback: (err, msg) => {
          if (err) return;
          // Whatever a message from the bus makes go wrong stays with that message.
          try {
            onMessage(msg.subject, msg.data);
          } catch (error) {
            this.stats.drop("handler_error");
            this.options.logger.error({ err: error, subject: msg.subject.slice(0, 200) }, "cluster: a message from the bus could not be routed");
          }
        },
      });
    }, (made) => {
      if (made) this.stats.subscriptions--;
      this.waiting.delete(lazy);
    });
    if (!lazy.open()) this.waiting.add(lazy);
    return lazy;
  }

  /**
   * Sends one control message (cluster/control.ts, event_relay.ts, ...) on the bus connection:
   * best effort, core NATS; false while the bus is unreachable.
   */
  send(subject: string, data: Uint8Array): boolean {
    const bus = this.bus;
    if (!bus || !this.busUp) return false;
    try {
      bus.publish(subject, data);
      return true;
    } catch (err) {
      this.options.logger.warn({ err, subject }, "cluster: publishing a control message failed");
      return false;
    }
  }

  /** Hears `subject` on the bus connection (now, or once it is up), for the parts beside routing. */
  listen(subject: string, onMessage: (subject: string, data: Uint8Array) => void): BusSubscription {
    return this.subscribe(subject, undefined, onMessage);
  }

  publish(namespace: string, message: Message): Promise<void> | undefined {
    const bus = this.bus;
    if (!bus || !this.available) return this.fail(message, "unavailable", unavailable("the cluster's message bus is unreachable"));
    const route = this.routeOf(namespace, message.topic);
    const subject = route.subject;
    const size = this.writer.prepareWith(route.head ??= this.writer.headFor(namespace, message.topic), message);
    const max = bus.info?.max_payload;
    if (max !== undefined && size > max) {
      return this.fail(message, "too_large", Object.assign(new Error(`message of ${size} bytes is larger than the bus's max_payload (${max})`), { reasonCode: RC.IMPLEMENTATION_SPECIFIC_ERROR }));
    }
    if (!this.batch.fits(subject, size) && !this.sendBatch()) {
      return this.fail(message, "publish_failed", unavailable("publishing on the bus failed"));
    }
    const at = this.batch.reserve(subject, size);
    const seq = ++this.seq;
    this.writer.writeInto(this.batch.buffer, at, seq, message);
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(this.sendScheduled);
    }
    this.stats.published++;
    if (message.qos === 0) return undefined;
    // Only QoS 1/2 copies are ever queued or stored, which is where the bus identity is read.
    message.busId = `${this.origin}:${seq}`;
    return this.confirmations!.wait({ namespace, message }).catch((err: Error) => {
      this.stats.drop("publish_failed");
      throw err;
    });
  }

  /**
   * The bus may choose this node itself to serve a `$share` group (on the groups connection):
   * when it holds persistent sessions, an ack also waits for the copies it queued that way. After
   * the bus's PONG the server has handed the message to the groups connection; its PONG there
   * comes after the copy.
   */
  private async ownGroupCopies(groups: NatsConnection): Promise<void> {
    if ((this.broker?.sessions.persistentTotal ?? 0) === 0) return;
    await groups.flush();
    await this.broker?.sessions.persistence.drained();
  }

  private readonly sendScheduled = (): void => {
    this.batchScheduled = false;
    this.sendBatch();
  };

  /**
   * Sends the envelopes coalesced so far (all for one subject, in the order they came). Runs
   * when the subject changes, at the end of the event-loop turn, and before every PING that
   * confirms publishes. Returns false when the client library refused the message.
   */
  private sendBatch(): boolean {
    const subject = this.batch.subject;
    const n = this.batch.size;
    const data = this.batch.take();
    if (data === undefined || subject === undefined || !this.bus) return true;
    try {
      this.bus.publish(subject, data);
      return true;
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: publishing failed");
      this.stats.drop("publish_failed", n);
      return false;
    }
  }

  /**
   * The subject of a topic and the head of its envelopes (made at its first publish), remembered:
   * devices publish to the same few topics over and over. Bounded by entries and by the bytes of
   * their keys; forgotten all at once when full.
   */
  private routeOf(namespace: string, topic: string): Route {
    let topics = this.subjects.get(namespace);
    if (!topics) {
      topics = new Map();
      this.subjects.set(namespace, topics);
    }
    let route = topics.get(topic);
    if (route === undefined) {
      route = { subject: topicSubject(namespace, topic) ?? overflowSubject(namespace), head: undefined };
      if (++this.subjectCount > SUBJECT_CACHE_ENTRIES || this.subjectBytes > SUBJECT_CACHE_BYTES) {
        this.subjects.clear();
        this.subjectCount = 1;
        this.subjectBytes = 0;
        topics = new Map();
        this.subjects.set(namespace, topics);
      }
      topics.set(topic, route);
      // The key, the subject and (once published) the head: about the topic's size each.
      this.subjectBytes += 2 * (topic.length + route.subject.length) + namespace.length + topic.length + 64;
    }
    return route;
  }

  private subjectOf(namespace: string, topic: string): string {
    return this.routeOf(namespace, topic).subject;
  }

  private fail(message: Message, reason: ClusterDropReason, err: Error): Promise<void> | undefined {
    this.stats.drop(reason);
    return message.qos === 0 ? undefined : Promise.reject(err);
  }

  interestAdded(namespace: string, filter: string, group: string | undefined): void {
    this.interest.add(namespace, filter, group);
  }

  interestRemoved(namespace: string, filter: string, group: string | undefined): void {
    this.interest.remove(namespace, filter, group);
  }

  retain(namespace: string, message: Message): void {
    if (this.retained) {
      this.retained.put(namespace, message);
      return;
    }
    if (this.pendingRetained.length >= MAX_PENDING_RETAINED) {
      this.stats.drop("unavailable");
      return;
    }
    this.pendingRetained.push({ namespace, message });
  }

  clientConnected(namespace: string, clientId: string): ConnectionStamp {
    const stamp = { at: this.clock.stamp(), origin: this.origin };
    this.announce({ namespace, clientId, ...stamp });
    return stamp;
  }

  private announce(notice: ConnectNotice): void {
    const bus = this.bus;
    if (!bus) return this.stats.drop("unavailable");
    try {
      bus.publish(connectSubject(notice.namespace), encodeNotice(notice));
    } catch (err) {
      this.options.logger.warn({ err }, "cluster: publishing a connect notice failed");
      this.stats.drop("publish_failed");
    }
  }

  /**
   * Another node's client connected: an older connection here with its client id ends (takeover);
   * a newer one here is announced again, so the other node ends its own. Either way exactly one
   * connection per client id stays, whichever node heard of the other first.
   */
  private connectNotice(subject: string, data: Uint8Array): void {
    this.stats.notices++;
    const decoded = decodeNotice(data);
    if (!decoded.ok) return this.stats.drop(decoded.reason);
    const notice = decoded.notice;
    if (connectSubject(notice.namespace) !== subject) return this.stats.drop("subject_mismatch");
    if (notice.origin === this.origin) return this.stats.drop("own");
    if (!this.clock.observe(notice.at)) return this.stats.drop("clock_ahead");
    const outcome = this.broker?.connectedElsewhere(notice.namespace, notice.clientId, { at: notice.at, origin: notice.origin });
    if (!outcome) return;
    if ("ended" in outcome) this.stats.takeovers++;
    else this.announce({ namespace: notice.namespace, clientId: notice.clientId, ...outcome.kept });
  }

  /** A NATS message on a plain subscription: each envelope in it for this node's subscribers, once. */
  private plain(subject: string, data: Uint8Array): void {
    const envelopes = splitBatch(data);
    if (!envelopes) {
      this.stats.received++;
      this.stats.drop("malformed");
      return;
    }
    for (const e of envelopes) this.plainOne(subject, e);
  }

  private plainOne(subject: string, data: Uint8Array): void {
    const envelope = this.check(subject, data);
    if (!envelope) return;
    if (envelope.origin === this.origin) {
      this.stats.drop("own");
      return;
    }
    // Overlapping filters (`a/+` and `a/#`) are separate NATS subscriptions, each with its copy;
    // one origin's messages reach this connection in the order it sent them.
    const last = this.lastSeq.get(envelope.origin);
    // A copy is at most one batch behind the newest seen. A sequence further back is not a copy
    // but the origin's real traffic after a forged envelope took its sequence far ahead: taken,
    // so one message from the bus cannot silence a node (review of issue 14).
    if (last !== undefined && envelope.seq <= last && last - envelope.seq <= DUPLICATE_WINDOW) {
      this.stats.drop("duplicate");
      return;
    }
    if (last === undefined && this.lastSeq.size >= MAX_ORIGINS) this.lastSeq.delete(this.lastSeq.keys().next().value!);
    this.lastSeq.set(envelope.origin, envelope.seq);
    if (envelope.message.qos > 0) envelope.message.busId = `${envelope.origin}:${envelope.seq}`;
    this.stats.routed++;
    this.broker?.routeFromCluster(envelope.namespace, envelope.message);
  }

  /** A NATS message the bus chose this node for, for one `$share` group: each envelope in it to one member. */
  private group(subject: string, data: Uint8Array, target: { namespace: string; group: string; filter: string }): void {
    const envelopes = splitBatch(data);
    if (!envelopes) {
      this.stats.received++;
      this.stats.drop("malformed");
      return;
    }
    for (const e of envelopes) this.groupOne(subject, e, target);
  }

  private groupOne(subject: string, data: Uint8Array, target: { namespace: string; group: string; filter: string }): void {
    const envelope = this.check(subject, data);
    if (!envelope) return;
    if (envelope.namespace !== target.namespace) {
      this.stats.drop("subject_mismatch");
      return;
    }
    if (envelope.message.qos > 0) envelope.message.busId = `${envelope.origin}:${envelope.seq}`;
    if (this.broker?.routeToGroup(target.namespace, target.group, target.filter, envelope.message)) this.stats.routed++;
    else this.stats.drop("no_group_member");
  }

  /** Decodes and checks a message from the bus: whatever is wrong with it is counted, never thrown. */
  private check(subject: string, data: Uint8Array): Envelope | undefined {
    this.stats.received++;
    const decoded = decodeEnvelope(data);
    if (!decoded.ok) {
      this.stats.drop(decoded.reason);
      return undefined;
    }
    const { namespace, message } = decoded.envelope;
    const maxLevels = this.broker?.limits.maxTopicLevels;
    if (maxLevels !== undefined && topicLevels(message.topic) > maxLevels) {
      this.stats.drop("topic_too_deep");
      return undefined;
    }
    // A message is heard only on the subject its own namespace and topic give; anything else
    // was put on the bus by someone else, and could reach a namespace it does not belong to.
    if (this.subjectOf(namespace, message.topic) !== subject) {
      this.stats.drop("subject_mismatch");
      return undefined;
    }
    return decoded.envelope;
  }

  /** Peers this node heard say they hold offline persistent sessions (a QoS 1/2 ack waits for their stores). */
  durablePeers(): string[] {
    return this.peers?.durable() ?? [];
  }

  /** This node took every persistent session of the dead node `node`: the others stop keeping messages for it. */
  adopted(node: string): void {
    this.peers?.adopted(node);
  }

  /**
   * Answers requests on `subject` (on the bus connection, from when it opens) with what
   * `handler` resolves to; a handler that fails, or resolves to undefined (a request it drops),
   * sends no answer (the asker times out).
   */
  serve(subject: string, handler: (data: Uint8Array) => Promise<Uint8Array | undefined>): void {
    this.services.set(subject, handler);
    if (this.bus) this.serveOn(this.bus, subject, handler);
  }

  private serveOn(bus: NatsConnection, subject: string, handler: (data: Uint8Array) => Promise<Uint8Array | undefined>): void {
    bus.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        handler(msg.data).then((answer) => answer && msg.respond(answer), (error: unknown) => {
          this.stats.drop("handler_error");
          this.options.logger.error({ err: error, subject }, "cluster: a request could not be answered");
        });
      },
    });
  }

  /**
   * Asks whoever serves `subject` and resolves with the answer; rejects when no one serves it
   * (`no_responders`), after `timeoutMs`, or while the bus is unreachable.
   */
  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const bus = this.bus;
    if (!bus || !this.available) throw unavailable("the cluster's message bus is unreachable");
    try {
      return (await bus.request(subject, data, { timeout: timeoutMs })).data;
    } catch (err) {
      // nats.js says "no one listens" by the code 503.
      const code = (err as { code?: string }).code;
      throw Object.assign(new Error(code === "503" ? "no_responders" : "timeout"), { cause: err });
    }
  }

  /**
   * Resolves once the NATS server has every subscription and message this node sent so far (a
   * round-trip on both connections): after it, the bus routes by this node's current interest.
   */
  async settled(): Promise<void> {
    await Promise.all([this.bus?.flush(), this.groups?.flush()]);
  }

  async stop(): Promise<void> {
    this.sendBatch();
    this.stopped = true;
    this.peers?.stop();
    this.interest.clear();
    await this.retained?.stop();
    await Promise.all([this.bus?.close(), this.groups?.close()]);
  }
}

/** A QoS 1/2 message this node put on the bus, waiting for its confirmation. */
export interface Published {
  namespace: string;
  message: Message;
}

/** What a topic of a namespace goes out as: its subject, and the head of its envelopes once one was sent. */
interface Route {
  subject: string;
  head: Buffer | undefined;
}

function unavailable(message: string): Error {
  return Object.assign(new Error(message), { reasonCode: RC.SERVER_BUSY });
}

/** A subscription asked for before its connection existed, made once it does. */
class LazySubscription implements BusSubscription {
  private sub: Subscription | undefined;
  private gone = false;

  constructor(private readonly make: () => Subscription | undefined, private readonly released: (made: boolean) => void) {}

  /** Returns false while there is no connection to subscribe on. */
  open(): boolean {
    if (this.gone) return true;
    this.sub ??= this.make();
    return this.sub !== undefined;
  }

  unsubscribe(): void {
    if (this.gone) return;
    this.gone = true;
    this.sub?.unsubscribe();
    this.released(this.sub !== undefined);
  }
}
