import type { IPublishPacket } from "mqtt-packet";
import type { Connection } from "./connection.js";
import { ProtocolViolation, RC } from "./reason_codes.js";
import { awaitPubrel, checkReceiveMaximum, holdAck, releaseAck } from "./receive_maximum.js";
import { isValidTopicName, topicLevels } from "./topics.js";
import type { ForwardedProperties, Message, Refused } from "./types.js";

/** PUBLISH from a client (§3.3): resolve alias, check, authorize, route, acknowledge. */
export function handlePublish(conn: Connection, packet: IPublishPacket): void {
  const broker = conn.broker;
  const session = conn.session!;
  const client = conn.client!;
  const qos = packet.qos;
  const id = packet.messageId;
  // First: whatever else is wrong with it, a message over the window must not be answered.
  if (qos > 0) checkReceiveMaximum(conn, qos as 1 | 2, id!);
  // Checked before an alias can bind it: a topic alias stands for a topic already checked.
  if (packet.topic.length > 0 && topicLevels(packet.topic) > broker.limits.maxTopicLevels) {
    refuseTooDeep(conn, qos, id);
    return;
  }
  const topic = resolveTopic(conn, packet);
  // A reply sent to a wildcard would reach no one it names [MQTT-3.3.2-14].
  const responseTopic = conn.protocolVersion === 5 ? packet.properties?.responseTopic : undefined;
  if (responseTopic !== undefined && !isValidTopicName(responseTopic)) {
    throw new ProtocolViolation(RC.PROTOCOL_ERROR, "the Response Topic must be a topic name, without wildcards");
  }

  // A QoS 2 retransmission of a message we already own: acknowledge again, route nothing
  // (§4.3.3). While its first PUBREC is still held (not stored yet), that PUBREC will answer.
  // It counts against the receive maximum once: again only if an earlier connection received it.
  if (qos === 2 && session.incomingQos2.has(id!)) {
    if (!conn.heldQos2?.has(id!)) acknowledgeInOrder(conn, 2, id!, RC.SUCCESS, !conn.awaitingPubrel?.has(id!));
    return;
  }

  if (topic.startsWith("$SYS") || (broker.hooks.authorizePublish && !broker.hooks.authorizePublish(client, topic))) {
    broker.stats.drop("not_authorized");
    broker.logger.debug({ clientId: client.clientId, topic }, "publish not authorized");
    if (conn.protocolVersion === 5) {
      if (qos === 0) throw new ProtocolViolation(RC.NOT_AUTHORIZED, `not authorized to publish to ${topic}`);
      acknowledgeInOrder(conn, qos as 1 | 2, id!, RC.NOT_AUTHORIZED);
    } else if (qos > 0) {
      // 3.1.1 has no negative acknowledgement: the message is acknowledged and dropped.
      acknowledgeInOrder(conn, qos as 1 | 2, id!);
    }
    return;
  }

  const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
  const refused = broker.hooks.admitPublish?.(client, topic, payload.length);
  if (refused) {
    refusePublish(conn, qos, id, refused);
    return;
  }

  const props = packet.properties;
  let properties: ForwardedProperties | undefined;
  let expiresAt: number | undefined;
  if (props && conn.protocolVersion === 5) {
    const { topicAlias: _alias, subscriptionIdentifier: _subId, messageExpiryInterval, ...rest } = props;
    if (messageExpiryInterval !== undefined) expiresAt = Date.now() + messageExpiryInterval * 1000;
    for (const _ in rest) {
      properties = rest;
      break;
    }
  }
  const message: Message = { topic, payload, qos, retain: packet.retain, properties, expiresAt, publisher: session.key };
  if (qos > 0 && broker.cluster && !broker.cluster.available) {
    // Not routed, not acknowledged: the client keeps the message and sends it again once it
    // can connect (CONNACK 0x88 until the bus is back). An ack would say the cluster has it.
    conn.disconnect(RC.SERVER_BUSY, "the cluster's message bus is unreachable; the message was not taken");
    return;
  }

  const held = broker.publish(message, client);
  if (qos === 0) {
    // No ack waits on a QoS 0 message; a hook's failure must not become an unhandled rejection.
    held?.catch(() => undefined);
    return;
  }
  if (qos === 2) session.incomingQos2.add(id!);
  if (!held && conn.ackChain === undefined) {
    acknowledge(conn, qos, id!);
    return;
  }
  // The published hook holds the ack (e.g. until the data is stored). Acks leave in the order
  // the messages came, whatever order the hook settles them in.
  holdAck(conn);
  if (qos === 2) (conn.heldQos2 ??= new Set()).add(id!);
  const previous = conn.ackChain ?? Promise.resolve();
  let busyReason = "the cluster's message bus did not take the message";
  const outcome = (held ?? Promise.resolve()).then(
    () => RC.SUCCESS,
    (err: unknown) => {
      const rc = (err as { reasonCode?: unknown })?.reasonCode;
      if (rc === RC.SERVER_BUSY && err instanceof Error) busyReason = `the message was not taken: ${err.message}`;
      return typeof rc === "number" && rc >= 0x80 ? rc : RC.IMPLEMENTATION_SPECIFIC_ERROR;
    },
  );
  const chain: Promise<void> = Promise.all([previous, outcome]).then(([, rc]) => {
    releaseAck(conn);
    conn.heldQos2?.delete(id!);
    if (conn.ackChain === chain) conn.ackChain = undefined;
    if (rc !== RC.SUCCESS && qos === 2) session.incomingQos2.delete(id!);
    // A quota refusal is temporary, unlike a bad payload: 3.1.1 cannot say "not now", and an
    // ack would say "taken", so the client keeps the message and resends it after reconnecting.
    if (rc === RC.QUOTA_EXCEEDED && conn.protocolVersion !== 5) conn.disconnect(rc, "refused by the account's plan");
    // The bus did not confirm it (cluster.publish), or the store could not take it (the data
    // pipeline, queued copies): unacknowledged, so the client sends it again.
    else if (rc === RC.SERVER_BUSY) conn.disconnect(rc, busyReason);
    else acknowledge(conn, qos, id!, rc);
  });
  conn.ackChain = chain;
}

/**
 * A PUBLISH an admission hook refused (a plan's rate or quota). MQTT 5 is told with the ack's
 * reason code; QoS 0 is dropped. MQTT 3.1.1 has no negative ack, and acknowledging a message
 * we drop would make the client believe it delivered: a refused 3.1.1 QoS 1/2 PUBLISH closes
 * the connection unacknowledged, so the client keeps it and resends it after reconnecting.
 */
function refusePublish(conn: Connection, qos: number, id: number | undefined, refused: Refused): void {
  const broker = conn.broker;
  broker.stats.refuse("publish");
  broker.stats.drop("refused_by_limit");
  if (refused.disconnect || (qos > 0 && conn.protocolVersion !== 5)) {
    conn.disconnect(refused.disconnect ? refused.reasonCode : RC.QUOTA_EXCEEDED, refused.reason);
    return;
  }
  if (qos > 0) acknowledgeInOrder(conn, qos as 1 | 2, id!, refused.reasonCode);
}

/**
 * A PUBLISH whose topic has more than `maxTopicLevels` levels: well-formed, but not accepted
 * here. MQTT 5 says so in the ack (0x90 Topic Name invalid), or, for QoS 0, which has no ack,
 * with DISCONNECT 0x90. MQTT 3.1.1 cannot refuse a message, and acknowledging one we drop
 * would tell the client it was delivered: the connection is closed.
 */
function refuseTooDeep(conn: Connection, qos: number, id: number | undefined): void {
  const max = conn.broker.limits.maxTopicLevels;
  conn.broker.stats.drop("topic_too_deep");
  if (conn.protocolVersion === 5 && qos > 0) acknowledgeInOrder(conn, qos as 1 | 2, id!, RC.TOPIC_NAME_INVALID);
  else conn.disconnect(RC.TOPIC_NAME_INVALID, `topic has more than ${max} levels`);
}

/**
 * Sends an ack now, or after the acks still held before it (§4.6: acks in arrival order).
 * Until it leaves, its message is unacknowledged and counts against the receive maximum
 * (`counts`), unless it answers a resend of a message already counted.
 */
function acknowledgeInOrder(conn: Connection, qos: 1 | 2, messageId: number, reasonCode: number = RC.SUCCESS, counts = true): void {
  if (conn.ackChain === undefined) {
    acknowledge(conn, qos, messageId, reasonCode);
    return;
  }
  if (counts) holdAck(conn);
  const chain: Promise<void> = conn.ackChain.then(() => {
    if (counts) releaseAck(conn);
    if (conn.ackChain === chain) conn.ackChain = undefined;
    acknowledge(conn, qos, messageId, reasonCode);
  });
  conn.ackChain = chain;
}

function acknowledge(conn: Connection, qos: 1 | 2, messageId: number, reasonCode: number = RC.SUCCESS): void {
  // A PUBREC refusing the message ends its flow (§4.3.3); one accepting it leaves the message
  // counted until PUBCOMP. Not when its PUBREL already came (a client releasing early).
  if (qos === 2 && reasonCode < 0x80 && conn.session!.incomingQos2.has(messageId)) awaitPubrel(conn, messageId);
  if (conn.protocolVersion === 5 && reasonCode !== RC.SUCCESS) {
    conn.send({ cmd: qos === 1 ? "puback" : "pubrec", messageId, reasonCode });
  } else {
    conn.send({ cmd: qos === 1 ? "puback" : "pubrec", messageId });
  }
}

/** Applies 5.0 topic aliases (§3.3.2.3.4) and validates the resulting topic name. */
function resolveTopic(conn: Connection, packet: IPublishPacket): string {
  let topic = packet.topic;
  const alias = packet.properties?.topicAlias;
  if (alias !== undefined && conn.protocolVersion === 5) {
    if (alias === 0 || alias > conn.broker.limits.topicAliasMaximum) {
      throw new ProtocolViolation(RC.TOPIC_ALIAS_INVALID, `topic alias ${alias} is outside 1..${conn.broker.limits.topicAliasMaximum}`);
    }
    conn.incomingAliases ??= new Map();
    if (topic.length > 0) {
      const bytes = conn.incomingAliasBytes - (conn.incomingAliases.get(alias)?.length ?? 0) * 2 + topic.length * 2;
      if (bytes > conn.broker.limits.maxTopicAliasBytes) {
        throw new ProtocolViolation(RC.QUOTA_EXCEEDED, `topic aliases would hold ${bytes} bytes of topics, over ${conn.broker.limits.maxTopicAliasBytes} (mqtt.maxTopicAliasBytes)`);
      }
      conn.incomingAliases.set(alias, topic);
      conn.incomingAliasBytes = bytes;
    }
    else {
      const known = conn.incomingAliases.get(alias);
      if (known === undefined) throw new ProtocolViolation(RC.PROTOCOL_ERROR, `topic alias ${alias} was never set`);
      topic = known;
    }
  }
  if (!isValidTopicName(topic)) {
    throw new ProtocolViolation(RC.TOPIC_NAME_INVALID, "PUBLISH topic must be non-empty valid UTF-8 without wildcards");
  }
  return topic;
}
