import type { Connection } from "./connection.js";

/**
 * Bytes written to clients' sockets that the kernel has not taken yet, over all connections
 * (`maxBufferedBytesTotal`). Counted as they are written and uncounted in each write's
 * callback, which Node calls once the kernel has the bytes, or with an error when the socket
 * is destroyed, so the count cannot leak.
 */
export class WriteBacklog {
  total = 0;
}

/**
 * Under global pressure a connection may still write while its own buffer is about empty:
 * a client that reads keeps being served, one that stops reading gets nothing more.
 */
const ALLOWANCE_UNDER_PRESSURE = 64 * 1024;

/**
 * Whether more writes to `conn` should wait (QoS 1/2 in the session queue, QoS 0 dropped):
 * its own unsent bytes are over `maxSocketBufferBytes`, or the broker's total is over
 * `maxBufferedBytesTotal` and this connection is itself behind.
 */
export function backlogged(conn: Connection): boolean {
  const own = conn.bufferedBytes();
  const limits = conn.broker.limits;
  if (own > limits.maxSocketBufferBytes) return true;
  return own > ALLOWANCE_UNDER_PRESSURE && conn.broker.backlog.total > limits.maxBufferedBytesTotal;
}
