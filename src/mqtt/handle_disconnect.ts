import type { IDisconnectPacket } from "mqtt-packet";
import type { Connection } from "./connection.js";
import { ProtocolViolation, RC } from "./reason_codes.js";

/** DISCONNECT from the client (§3.14): normal (0x00, no will) or not (0x04 or an error: the will goes out). */
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
  // Only a normal disconnection (0x00) discards the will (§3.1.2.5, §3.14.4); 0x04 and error codes publish it.
  conn.graceful = (packet.reasonCode ?? 0) === RC.SUCCESS;
  conn.closeReason = `client disconnected (reason 0x${(packet.reasonCode ?? 0).toString(16)})`;
  conn.closeReasonCode = packet.reasonCode ?? 0;
  conn.end();
}
