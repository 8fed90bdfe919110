import type { ISubscribePacket } from "mqtt-packet";
import type { Connection } from "./connection.js";
import { deliver } from "./delivery.js";
import { ProtocolViolation, RC } from "./reason_codes.js";
import { isValidTopicFilter, parseSharedFilter, topicLevels } from "./topics.js";
import type { Message, QoS, SubscriptionOptions } from "./types.js";

/** SUBSCRIBE (§3.8): one reason code per filter, then the retained messages each one asked for. */
export function handleSubscribe(conn: Connection, packet: ISubscribePacket): void {
  const broker = conn.broker;
  const session = conn.session!;
  const client = conn.client!;
  const v5 = conn.protocolVersion === 5;
  const subscriptionId = packet.properties?.subscriptionIdentifier;
  if (subscriptionId === 0) throw new ProtocolViolation(RC.PROTOCOL_ERROR, "subscription identifier 0 is not allowed");

  const granted: number[] = [];
  const subscribed: string[] = [];
  const retainedToSend: { message: Message; qos: QoS; id: number | undefined }[] = [];
  for (const sub of packet.subscriptions) {
    const filter = sub.topic;
    const shared = parseSharedFilter(filter);
    const matchFilter = shared && shared !== "invalid" ? shared.filter : filter;
    if (shared === "invalid" || !isValidTopicFilter(matchFilter)) {
      granted.push(v5 ? RC.TOPIC_FILTER_INVALID : 0x80);
      continue;
    }
    if (topicLevels(matchFilter) > broker.limits.maxTopicLevels) {
      // Well-formed, but deeper than this broker matches (5.0 §3.9.3: 0x8F is for exactly this).
      broker.logger.debug({ clientId: client.clientId, levels: topicLevels(matchFilter) }, "subscribe filter too deep");
      granted.push(v5 ? RC.TOPIC_FILTER_INVALID : 0x80);
      continue;
    }
    if (shared && sub.nl && v5) throw new ProtocolViolation(RC.PROTOCOL_ERROR, "No Local on a shared subscription (§3.8.3.1)");
    if (broker.hooks.authorizeSubscribe && !broker.hooks.authorizeSubscribe(client, filter)) {
      broker.logger.debug({ clientId: client.clientId, filter }, "subscribe not authorized");
      granted.push(v5 ? RC.NOT_AUTHORIZED : 0x80);
      continue;
    }
    if (!session.subscriptions.has(filter) && session.subscriptions.size >= broker.limits.maxSubscriptionsPerSession) {
      // The node's own ceiling, whatever the plan allows (`unlimited` included): overlapping
      // filters multiply the work of every publish that matches them.
      broker.stats.refuse("subscribe");
      broker.logger.debug({ clientId: client.clientId, max: broker.limits.maxSubscriptionsPerSession }, "subscriptions per session limit reached");
      granted.push(v5 ? RC.QUOTA_EXCEEDED : 0x80);
      continue;
    }
    if (broker.hooks.admitSubscribe && !session.subscriptions.has(filter)) {
      const refused = broker.hooks.admitSubscribe(client, filter, { session: session.subscriptions.size, namespace: broker.namespace(session.namespace).stats.subscriptions });
      if (refused) {
        broker.stats.refuse("subscribe");
        granted.push(v5 ? refused.reasonCode : 0x80);
        continue;
      }
    }
    const options: SubscriptionOptions = {
      qos: sub.qos,
      nl: v5 ? Boolean(sub.nl) : false,
      rap: v5 ? Boolean(sub.rap) : false,
      rh: v5 ? ((sub.rh ?? 0) as 0 | 1 | 2) : 0,
      id: v5 ? subscriptionId : undefined,
    };
    const isNew = broker.subscribe(session, filter, shared ?? undefined, options);
    granted.push(sub.qos);
    subscribed.push(filter);
    // Shared subscriptions get no retained messages (§4.8.2).
    if (!shared && (options.rh === 0 || (options.rh === 1 && isNew))) {
      for (const message of broker.retainedFor(session.namespace, filter)) {
        retainedToSend.push({ message, qos: Math.min(message.qos, sub.qos) as QoS, id: options.id });
      }
    }
  }
  broker.routeWork += packet.subscriptions.length + retainedToSend.length;
  conn.send({ cmd: "suback", messageId: packet.messageId, granted });
  broker.hooks.subscribed?.(client, packet.subscriptions.map((s, i) => ({ filter: s.topic, qos: s.qos, reasonCode: granted[i]! })));
  for (const r of retainedToSend) deliver(session, r.message, r.qos, true, r.id === undefined ? undefined : [r.id]);
  // Only the filters this packet set are written, not the session (one row each).
  broker.sessions.subscribed(session, subscribed);
}
