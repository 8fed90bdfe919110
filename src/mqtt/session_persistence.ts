import type { BrokerRepository, StoredMessage, StoredSession, StoredSessionMessage } from "../store/types.js";
import type { Delivery, InflightDelivery, Session } from "./session.js";
import type { ForwardedProperties, Message } from "./types.js";

/** Converts between live sessions and their stored form. */
export function messageToStored(m: Message): StoredMessage {
  return {
    topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain,
    properties: (m.properties as Record<string, unknown> | undefined) ?? null, expiresAt: m.expiresAt ?? null,
  };
}

export function messageFromStored(m: StoredMessage, publisher?: string): Message {
  return {
    topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain,
    properties: (m.properties as ForwardedProperties | null) ?? undefined, expiresAt: m.expiresAt ?? undefined, publisher,
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

export function sessionToStored(s: Session): StoredSession {
  const messages: StoredSessionMessage[] = [];
  for (const [packetId, d] of s.inflight) messages.push(deliveryToStored(d, d.state === "pubrel" ? "pubrel" : "inflight", packetId));
  for (const d of s.queue) messages.push(deliveryToStored(d, "queued", null));
  return {
    namespace: s.namespace,
    clientId: s.clientId,
    expiryInterval: s.expiryInterval,
    disconnectedAt: s.disconnectedAt ?? null,
    subscriptions: [...s.subscriptions].map(([filter, o]) => ({ filter, qos: o.qos, nl: o.nl, rap: o.rap, rh: o.rh, id: o.id })),
    incomingQos2: [...s.incomingQos2],
    principal: { ...s.client },
    messages,
  };
}

export function storedDeliveryOf(m: StoredSessionMessage): Delivery | InflightDelivery {
  let subscriptionIds: number[] | undefined;
  if (m.properties && "subscriptionIdentifier" in m.properties) {
    const { subscriptionIdentifier, ...rest } = m.properties;
    subscriptionIds = subscriptionIdentifier as number[];
    m = { ...m, properties: Object.keys(rest).length > 0 ? rest : null };
  }
  const message = messageFromStored(m);
  const base: Delivery = { message, qos: m.qos, retain: m.retain, subscriptionIds, seq: m.seq, bytes: m.payload.length + m.topic.length + 16 };
  return m.state === "queued" ? base : { ...base, state: m.state === "pubrel" ? "pubrel" : "publish" };
}

/** Swallows and logs storage errors: the broker keeps serving if the disk hiccups. */
export class SessionPersistence {
  constructor(
    private readonly repo: BrokerRepository | undefined,
    private readonly onError: (err: unknown, what: string) => void,
  ) {}

  save(session: Session): void {
    if (!this.repo) return;
    this.repo.saveSession(sessionToStored(session)).catch((err) => this.onError(err, "save session"));
  }

  delete(session: Session): void {
    if (!this.repo) return;
    this.repo.deleteSession(session.namespace, session.clientId).catch((err) => this.onError(err, "delete session"));
  }

  append(session: Session, d: Delivery): void {
    if (!this.repo) return;
    this.repo.appendSessionMessage(session.namespace, session.clientId, deliveryToStored(d, "queued", null))
      .catch((err) => this.onError(err, "queue message"));
  }
}
