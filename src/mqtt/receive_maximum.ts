import type { Connection } from "./connection.js";
import { ProtocolViolation, RC } from "./reason_codes.js";

/**
 * The broker's Receive Maximum (`mqtt.receiveMaximum`, §3.3.4, §4.9): the QoS 1/2 PUBLISH a
 * client has sent on this network connection that the broker has not yet answered with PUBACK
 * or PUBCOMP (nor refused with an error PUBREC). Each such message is in exactly one of two
 * places, so nothing counts twice:
 * - `unackedInbound`: its PUBACK/PUBREC has not left yet (held behind the published hook or
 *   behind acks held before it);
 * - `awaitingPubrel` (5.0 only): QoS 2, PUBREC sent, PUBREL not received.
 * The count belongs to the connection, not the session: §4.9 starts the quota afresh on every
 * network connection, so after a takeover or reconnect the ids still unreleased from before
 * no longer count, and their PUBREL frees nothing here.
 */
export function inboundInFlight(conn: Connection): number {
  return conn.unackedInbound + (conn.awaitingPubrel?.size ?? 0);
}

/**
 * 5.0: one more QoS 1/2 PUBLISH while the window is full is refused with DISCONNECT 0x93
 * (§3.3.4). A QoS 2 PUBLISH reusing an id this connection already counts is a resend of that
 * message, not one more, as long as the session still owns that message (no PUBREL yet): once
 * its PUBREL came, even early, while its PUBREC is still held, the same id names a new message,
 * which is routed and counts. 3.1.1 is never told the limit, so it is never disconnected for it
 * (see `holdAck`).
 */
export function checkReceiveMaximum(conn: Connection, qos: 1 | 2, id: number): void {
  const max = conn.broker.limits.receiveMaximum;
  if (conn.protocolVersion !== 5 || inboundInFlight(conn) < max) return;
  const resend = qos === 2 && conn.session!.incomingQos2.has(id) && (conn.heldQos2?.has(id) || conn.awaitingPubrel?.has(id));
  if (resend) return;
  throw new ProtocolViolation(RC.RECEIVE_MAXIMUM_EXCEEDED, `more than ${max} QoS 1/2 messages not acknowledged (PUBACK) or completed (PUBCOMP)`);
}

/**
 * An ack that waits behind the chain of held acks. A 3.1.1 client with `receiveMaximum` of
 * them is not read until they leave: TCP pushes back instead of a disconnect. Only held acks
 * block it, never QoS 2 waiting for PUBREL: the PUBREL it owes could then never be read.
 */
export function holdAck(conn: Connection): void {
  conn.unackedInbound++;
  if (conn.unackedInbound >= conn.broker.limits.receiveMaximum && conn.protocolVersion !== 5) conn.blockReadingForAcks();
}

export function releaseAck(conn: Connection): void {
  conn.unackedInbound--;
  if (conn.unackedInbound < conn.broker.limits.receiveMaximum) conn.unblockReadingForAcks();
}

/** A successful PUBREC left (5.0): the message counts until its PUBCOMP. */
export function awaitPubrel(conn: Connection, id: number): void {
  if (conn.protocolVersion === 5) (conn.awaitingPubrel ??= new Set()).add(id);
}

/** PUBCOMP sent for `id`: its slot is free (a no-op for an id from an earlier connection). */
export function pubcompSent(conn: Connection, id: number): void {
  conn.awaitingPubrel?.delete(id);
}
