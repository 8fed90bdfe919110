import type { IDisconnectPacket } from "mqtt-packet";
import type { Connection } from "./connection.js";
import { ProtocolViolation, RC } from "./reason_codes.js";

/** DISCONNECT from the client (§3.14): normal unless it asks for its will (0x04). */
export function handleDisconnect(conn: Connection, packet: IDisconnectPacket): void {
  const session = conn.session!;
  const newExpiry = packet.properties?.sessionExpiryInterval;
  if (newExpiry !== undefined) {
    // §3.14.2.2.2: a session that was to end with the connection cannot be extended now.
    if (session.expiryInterval === 0 && newExpiry > 0) {
      throw new ProtocolViolation(RC.PROTOCOL_ERROR, "session expiry cannot change from 0 in DISCONNECT");
    }
    session.expiryInterval = Math.min(newExpiry, conn.broker.limits.maxSessionExpiry);
  }
  conn.graceful = (packet.reasonCode ?? 0) !== RC.DISCONNECT_WITH_WILL;
  conn.closeReason = `client disconnected (reason 0x${(packet.reasonCode ?? 0).toString(16)})`;
  conn.end();
}
