import { InsertBatcher } from "../data/sqlite/insert_batcher.js";
import { RC } from "./reason_codes.js";
import type { BrokerRepository, SessionWrite, StoredCopy, StoredMessage, StoredSessionMessage, StoredSessionState, StoredSubscription } from "../store/types.js";
import { deliveryBytes } from "./message_size.js";
import type { Delivery, InflightDelivery, Session } from "./session.js";
import type { ForwardedProperties, Message } from "./types.js";

/** Converts between live sessions and their stored form. */
export function messageToStored(m: Message): StoredMessage {
  return {
    topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain,
    properties: (m.properties as Record<string, unknown> | undefined) ?? null, expiresAt: m.expiresAt ?? null,
    ...(m.busId !== undefined && { busId: m.busId }),
  };
}

export function messageFromStored(m: StoredMessage, publisher?: string): Message {
  return {
    topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain,
    properties: (m.properties as ForwardedProperties | null) ?? undefined, expiresAt: m.expiresAt ?? undefined, publisher,
    ...(m.busId != null && { busId: m.busId }),
  };
}

function deliveryToStored(d: Delivery, state: StoredSessionMessage["state"], packetId: number | null): StoredSessionMessage {
  // The stored `retain` is the flag this subscriber receives, not the publisher's.
  const stored: StoredSessionMessage = { ...messageToStored(d.message), retain: d.retain, qos: d.qos, seq: d.seq, state, packetId };
  // Subscription identifiers belong to this delivery (§3.3.4); they ride in the properties column
  // under their property name, which forwarded properties never hold.
  if (d.subscriptionIds) stored.properties = { ...stored.properties, subscriptionIdentifier: d.subscriptionIds };
  return stored;
}

function stateOf(s: Session): StoredSessionState {
  return {
    namespace: s.namespace,
    clientId: s.clientId,
    expiryInterval: s.expiryInterval,
    disconnectedAt: s.disconnectedAt ?? null,
    incomingQos2: [...s.incomingQos2],
    principal: { ...s.client },
  };
}

function messagesOf(s: Session): StoredSessionMessage[] {
  const messages: StoredSessionMessage[] = [];
  for (const [packetId, d] of s.inflight) messages.push(deliveryToStored(d, d.state === "pubrel" ? "pubrel" : "inflight", packetId));
  for (const d of s.queue) messages.push(deliveryToStored(d, "queued", null));
  return messages;
}

function subscriptionsOf(s: Session, filters: Iterable<string>): StoredSubscription[] {
  const subs: StoredSubscription[] = [];
  for (const filter of filters) {
    const o = s.subscriptions.get(filter);
    if (o) subs.push({ filter, qos: o.qos, nl: o.nl, rap: o.rap, rh: o.rh, ...(o.id !== undefined && { id: o.id }) });
  }
  return subs;
}

export function storedDeliveryOf(m: StoredSessionMessage): Delivery | InflightDelivery {
  let subscriptionIds: number[] | undefined;
  if (m.properties && "subscriptionIdentifier" in m.properties) {
    const { subscriptionIdentifier, ...rest } = m.properties;
    subscriptionIds = subscriptionIdentifier as number[];
    m = { ...m, properties: Object.keys(rest).length > 0 ? rest : null };
  }
  const message = messageFromStored(m);
  const base: Delivery = { message, qos: m.qos, retain: m.retain, subscriptionIds, seq: m.seq, bytes: deliveryBytes(message, subscriptionIds) };
  return m.state === "queued" ? base : { ...base, state: m.state === "pubrel" ? "pubrel" : "publish" };
}

function unitsOf(w: SessionWrite): number {
  switch (w.kind) {
    case "queue": return w.copies.length;
    case "state": return 1 + (w.messages?.length ?? 0);
    case "subscribe": return w.subscriptions.length;
    case "unsubscribe": return w.filters.length;
    case "delete": return 1;
  }
}

type QueueWrite = Extract<SessionWrite, { kind: "queue" }>;

function copyOf(session: Session, d: Delivery): StoredCopy {
  const c: StoredCopy = { clientId: session.clientId, seq: d.seq, qos: d.qos, retain: d.retain };
  if (d.subscriptionIds) c.subscriptionIds = d.subscriptionIds;
  return c;
}

/** Changes written in one transaction at most; more wait for the next one (the loop is not held longer). */
const MAX_WRITE_UNITS = 8192;

/**
 * Writes persistent sessions as they change, each change naming only what it changes (a
 * SUBSCRIBE its filters, not the session), through one group commit (insert_batcher.ts): the
 * changes of one event-loop turn share one transaction, in the order they were made, so a
 * publish fanned out to 2 000 offline sessions costs one transaction, not 2 000.
 *
 * Storage errors are logged and swallowed: the broker keeps serving if the disk hiccups.
 */
export class SessionPersistence {
  /**
   * What has been committed: transactions; queued messages (`published`: one each, payload
   * and all) and the compact copies of them for offline sessions (`copies`); messages stored
   * whole for one session (`messages`: its in-flight and queued ones when it goes offline);
   * subscription rows written or deleted. Cheap to keep, and what shows that the writes stay
   * O(1) transactions and one stored payload per publish, and O(filters) rows per SUBSCRIBE
   * (test/mqtt/abuse_sessions.test.ts).
   */
  readonly committed = { transactions: 0, published: 0, copies: 0, messages: 0, subscriptions: 0 };
  private readonly batcher: InsertBatcher<SessionWrite, void> | undefined;
  /** Queued copies made while routing one message (`track`), written as one change per message. */
  private collecting: Map<Message, QueueWrite> | undefined;

  constructor(
    repo: BrokerRepository | undefined,
    private readonly onError: (err: unknown, what: string) => void,
  ) {
    if (!repo) return;
    this.batcher = new InsertBatcher<SessionWrite, void>(
      (writes) => {
        const done = repo.writeSessions(writes);
        const outputs = writes.map(() => undefined);
        return done ? done.then(() => this.count(writes, outputs)) : this.count(writes, outputs);
      },
      { maxUnits: MAX_WRITE_UNITS, units: unitsOf },
    );
  }

  /** A new session (its client id's earlier subscriptions and messages, if any, go). */
  created(session: Session): void {
    this.submit({ kind: "state", state: stateOf(session), fresh: true }, "save session");
  }

  /** The session's row (expiry, connection state, principal), nothing else. */
  connected(session: Session): void {
    this.submit({ kind: "state", state: stateOf(session) }, "save session");
  }

  /** The session's row and its messages as they stand (in flight and queued while it was online). */
  saved(session: Session): void {
    this.submit({ kind: "state", state: stateOf(session), messages: messagesOf(session) }, "save session");
  }

  subscribed(session: Session, filters: Iterable<string>): void {
    const subscriptions = subscriptionsOf(session, filters);
    if (subscriptions.length > 0) this.submit({ kind: "subscribe", namespace: session.namespace, clientId: session.clientId, subscriptions }, "save subscriptions");
  }

  unsubscribed(session: Session, filters: string[]): void {
    if (filters.length > 0) this.submit({ kind: "unsubscribe", namespace: session.namespace, clientId: session.clientId, filters }, "delete subscriptions");
  }

  delete(session: Session): void {
    this.submit({ kind: "delete", namespace: session.namespace, clientId: session.clientId }, "delete session");
  }

  /** A message queued for an offline persistent session. */
  queued(session: Session, d: Delivery): void {
    if (!this.batcher) return;
    const copy = copyOf(session, d);
    if (!this.collecting) {
      void this.submit({ kind: "queue", namespace: session.namespace, message: messageToStored(d.message), copies: [copy] }, "queue message");
      return;
    }
    // Every copy of one routed message shares its Message object: it is stored once.
    let write = this.collecting.get(d.message);
    if (!write) {
      write = { kind: "queue", namespace: session.namespace, message: messageToStored(d.message), copies: [] };
      this.collecting.set(d.message, write);
    }
    write.copies.push(copy);
  }

  /**
   * Runs `route` (one message's delivery to every subscriber) and writes the copies it queued
   * for offline sessions as one change. Returns a promise that settles once they are committed
   * (or their write failed, which is logged): the publisher's PUBACK waits for it, so an
   * acknowledged message is stored for every offline session that was due a copy. Undefined
   * when nothing was queued.
   */
  track(route: () => void): Promise<void> | undefined {
    if (!this.batcher || this.collecting) {
      route();
      return undefined;
    }
    const writes = new Map<Message, QueueWrite>();
    this.collecting = writes;
    try {
      route();
    } finally {
      this.collecting = undefined;
    }
    if (writes.size === 0) return undefined;
    if (writes.size === 1) return this.submitQueued(writes.values().next().value!);
    return Promise.all([...writes.values()].map((w) => this.submitQueued(w))).then(() => undefined);
  }

  /** Resolves once every change made so far is committed (or failed). */
  async drained(): Promise<void> {
    await this.batcher?.drained();
  }

  private count<T>(writes: SessionWrite[], outputs: T): T {
    const c = this.committed;
    c.transactions++;
    for (const w of writes) {
      if (w.kind === "queue") {
        c.published++;
        c.copies += w.copies.length;
      } else if (w.kind === "state") c.messages += w.messages?.length ?? 0;
      else if (w.kind === "subscribe") c.subscriptions += w.subscriptions.length;
      else if (w.kind === "unsubscribe") c.subscriptions += w.filters.length;
    }
    return outputs;
  }

  /**
   * Copies queued for offline sessions: the publisher's ack waits for them, so a failed write
   * withholds it (0x89 Server busy: the broker closes the connection unacknowledged and the
   * client sends the message again), never an ack for copies that were not stored.
   */
  private submitQueued(write: SessionWrite): Promise<void> | undefined {
    return this.batcher?.submit(write).catch((err: unknown) => {
      this.onError(err, "queue messages");
      throw Object.assign(new Error("the queued copies for offline sessions could not be stored"), { reasonCode: RC.SERVER_BUSY });
    });
  }

  private submit(write: SessionWrite, what: string): Promise<void> | undefined {
    return this.batcher?.submit(write).catch((err: unknown) => this.onError(err, what));
  }
}
