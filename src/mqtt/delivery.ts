import mqtt, { type IPublishPacket } from "mqtt-packet";
import { backlogged } from "./backlog.js";
import type { Connection } from "./connection.js";
import { deliveryBytes } from "./message_size.js";
import { REPLAY_SEEN_MAX, type Delivery, type Session } from "./session.js";
import type { Message, QoS } from "./types.js";

/**
 * Hands one message to one session with the flags its subscription decided: sends it now,
 * queues it (QoS 1/2 beyond the in-flight window, or offline), or drops it with a counted
 * reason. Never blocks and never grows without bound.
 */
export function deliver(session: Session, message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined): void {
  const conn = session.connection;
  const broker = session.broker;
  const authorizeDelivery = broker.hooks.authorizeDelivery;
  if (authorizeDelivery && !authorizeDelivery(session.client, message.topic)) {
    broker.stats.drop("not_authorized");
    return;
  }
  if (qos === 0) {
    if (!conn) {
      broker.stats.drop("offline_qos0");
      return;
    }
    // A client that stops reading loses QoS 0 messages rather than making us buffer them.
    if (backlogged(conn)) {
      broker.stats.drop("slow_subscriber");
      return;
    }
    sendPublish(conn, session, { message, qos, retain, subscriptionIds, seq: 0, bytes: 0 }, undefined, false);
    return;
  }
  if (session.replaySeen !== undefined && message.busId !== undefined && session.replaySeen.size < REPLAY_SEEN_MAX) session.replaySeen.add(message.busId);
  const delivery: Delivery = { message, qos, retain, subscriptionIds, seq: session.takeSeq(), bytes: deliveryBytes(message, subscriptionIds) };
  if (conn && session.queue.length === 0 && session.inflight.size < window(conn)) {
    // QoS 1/2 must not be lost, so a client that stops reading gets them queued in its session
    // (bounded, in bytes) rather than written into a socket buffer that nothing bounds.
    if (!backlogged(conn)) {
      sendInflight(conn, session, delivery);
      return;
    }
    conn.waitingForBacklog = true;
  }
  enqueue(session, delivery);
}

function window(conn: Connection): number {
  return Math.min(conn.clientReceiveMaximum, conn.broker.limits.maxInflight);
}

function enqueue(session: Session, delivery: Delivery): void {
  const broker = session.broker;
  const limits = broker.limits;
  if (session.queue.length >= limits.maxQueuedMessages || session.queueBytes + delivery.bytes > limits.maxQueuedBytes) {
    broker.stats.drop("queue_full");
    broker.logger.debug({ clientId: session.clientId, topic: delivery.message.topic }, "session queue full, message dropped");
    return;
  }
  session.queue.push(delivery);
  session.queueBytes += delivery.bytes;
  if (!session.connection && session.persistent) broker.sessions.persistQueued(session, delivery);
}

function sendInflight(conn: Connection, session: Session, delivery: Delivery): void {
  const packetId = session.allocatePacketId();
  if (sendPublish(conn, session, delivery, packetId, false)) {
    session.inflight.set(packetId, { ...delivery, state: "publish" });
  }
}

/** Moves queued messages into flight as the window allows (after an ack, or on reconnect). */
export function drainQueue(session: Session): void {
  const conn = session.connection;
  if (!conn) return;
  const max = window(conn);
  if (session.unsentInflight > 0) resendUnsent(conn, session, max);
  while (session.queue.length > 0 && session.inflight.size < max) {
    if (backlogged(conn)) {
      // Resumed by the connection once its socket has taken what it holds (Connection.written).
      conn.waitingForBacklog = true;
      return;
    }
    const delivery = session.queue.shift()!;
    session.queueBytes -= delivery.bytes;
    if (delivery.qos === 0) sendPublish(conn, session, delivery, undefined, false);
    else sendInflight(conn, session, delivery);
  }
}

/**
 * On a resumed session: everything unacknowledged goes out again, PUBLISH with DUP set and its
 * packet id (§4.4), as many PUBLISH as the client's Receive Maximum allows (§4.9); the rest
 * follow as acknowledgements come.
 */
export function resendInflight(session: Session): void {
  const conn = session.connection;
  if (!conn) return;
  let unsent = 0;
  for (const [packetId, entry] of session.inflight) {
    if (entry.state === "pubrel") conn.send({ cmd: "pubrel", messageId: packetId });
    else {
      entry.unsent = true;
      unsent++;
    }
  }
  session.unsentInflight = unsent;
  if (unsent > 0) resendUnsent(conn, session, window(conn));
}

function resendUnsent(conn: Connection, session: Session, max: number): void {
  let outstanding = 0;
  for (const entry of session.inflight.values()) if (!entry.unsent) outstanding++;
  let left = 0;
  for (const [packetId, entry] of session.inflight) {
    if (!entry.unsent) continue;
    if (outstanding >= max || backlogged(conn)) {
      left++;
      continue;
    }
    entry.unsent = false;
    if (sendPublish(conn, session, entry, packetId, true)) outstanding++;
    else session.inflight.delete(packetId);
  }
  session.unsentInflight = left;
  if (left > 0 && backlogged(conn)) conn.waitingForBacklog = true;
}

/** Returns false when the message was dropped (expired, or too large for this client). */
function sendPublish(conn: Connection, session: Session, d: Delivery, packetId: number | undefined, dup: boolean): boolean {
  const broker = conn.broker;
  const m = d.message;
  let expiryInterval: number | undefined;
  if (m.expiresAt !== undefined) {
    const left = m.expiresAt - Date.now();
    if (left <= 0) {
      broker.stats.drop("expired");
      return false;
    }
    expiryInterval = Math.ceil(left / 1000);
  }
  const v5 = conn.protocolVersion === 5;
  if (d.qos === 0 && !d.retain && expiryInterval === undefined && d.subscriptionIds === undefined && conn.clientTopicAliasMaximum === 0) {
    const buf = encodeShared(m, v5);
    if (buf.length > conn.clientMaximumPacketSize) {
      broker.stats.drop("client_packet_too_large");
      return false;
    }
    conn.writeEncoded(buf, "publish");
    countSent(session, m, d.qos);
    return true;
  }

  const packet: IPublishPacket = {
    cmd: "publish", topic: m.topic, payload: m.payload, qos: d.qos, retain: d.retain, dup, messageId: packetId,
  };
  let newAlias: number | undefined;
  if (v5) {
    const properties: NonNullable<IPublishPacket["properties"]> = { ...m.properties };
    if (expiryInterval !== undefined) properties.messageExpiryInterval = expiryInterval;
    if (d.subscriptionIds) properties.subscriptionIdentifier = d.subscriptionIds.length === 1 ? d.subscriptionIds[0]! : d.subscriptionIds;
    if (conn.clientTopicAliasMaximum > 0) {
      conn.outgoingAliases ??= new Map();
      const alias = conn.outgoingAliases.get(m.topic);
      if (alias !== undefined) {
        properties.topicAlias = alias;
        packet.topic = "";
      } else if (conn.outgoingAliases.size < conn.clientTopicAliasMaximum && conn.outgoingAliasBytes + m.topic.length * 2 <= broker.limits.maxTopicAliasBytes) {
        // Past the bytes, topics go out in full: a client asking for 65 535 aliases must not make
        // the broker keep 65 535 long topics for it.
        newAlias = conn.outgoingAliases.size + 1;
        properties.topicAlias = newAlias;
      }
    }
    packet.properties = properties;
  }
  const buf = mqtt.generate(packet, { protocolVersion: conn.protocolVersion });
  if (buf.length > conn.clientMaximumPacketSize) {
    // §3.1.2.25: a packet over the client's limit is discarded as if it had been delivered.
    broker.stats.drop("client_packet_too_large");
    return false;
  }
  if (newAlias !== undefined) {
    conn.outgoingAliases!.set(m.topic, newAlias);
    conn.outgoingAliasBytes += m.topic.length * 2;
  }
  conn.writeEncoded(buf, "publish");
  countSent(session, m, d.qos);
  return true;
}

function countSent(session: Session, m: Message, qos: QoS): void {
  session.stats.messagesSent++;
  session.stats.bytesSent += m.payload.length;
  const observe = session.broker.hooks.delivered;
  if (observe) observe(session.client, m, qos);
}

function encodeShared(m: Message, v5: boolean): Buffer {
  const cache = (m.wire ??= {});
  const key = v5 ? "v5" : "v4";
  let buf = cache[key];
  if (!buf) {
    const packet: IPublishPacket = {
      cmd: "publish", topic: m.topic, payload: m.payload, qos: 0, retain: false, dup: false,
      properties: v5 ? m.properties : undefined,
    };
    buf = mqtt.generate(packet, { protocolVersion: v5 ? 5 : 4 });
    cache[key] = buf;
  }
  return buf;
}
