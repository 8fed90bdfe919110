import type { IUnsubscribePacket } from "mqtt-packet";
import type { Connection } from "./connection.js";
import { ProtocolViolation, RC } from "./reason_codes.js";

/** UNSUBSCRIBE (§3.10): 5.0 says per filter whether a subscription existed. */
export function handleUnsubscribe(conn: Connection, packet: IUnsubscribePacket): void {
  const broker = conn.broker;
  const session = conn.session!;
  if (packet.unsubscriptions.length === 0) {
    throw new ProtocolViolation(RC.PROTOCOL_ERROR, "UNSUBSCRIBE must name at least one topic filter");
  }
  const removed: string[] = [];
  const codes = packet.unsubscriptions.map((filter) => {
    if (!broker.unsubscribe(session, filter)) return RC.NO_SUBSCRIPTION_EXISTED;
    removed.push(filter);
    return RC.SUCCESS;
  });
  if (conn.protocolVersion === 5) conn.send({ cmd: "unsuback", messageId: packet.messageId, granted: codes });
  else conn.send({ cmd: "unsuback", messageId: packet.messageId, granted: [] });
  broker.sessions.unsubscribed(session, removed);
  broker.hooks.unsubscribed?.(conn.client!, packet.unsubscriptions);
}
