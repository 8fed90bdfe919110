/**
 * Plain counters on the hot path (a Prometheus label lookup per packet would cost more than
 * routing it); the metrics endpoint and $SYS read them when asked.
 */
export class BrokerStats {
  readonly packetsIn: Record<string, number> = {};
  readonly packetsOut: Record<string, number> = {};
  readonly dropped: Record<string, number> = {};
  bytesIn = 0;
  bytesOut = 0;
  authFailures = 0;
  /** Sockets closed at once because too many connections were in progress (pending_connections.ts). */
  pendingRefused = 0;
  /**
   * CONNECT, PUBLISH and SUBSCRIBE refused by an admission hook, by kind; `session`: a CONNECT
   * refused by the broker's own bound on persistent sessions (`maxSessionsPer*`).
   */
  readonly refused: Record<string, number> = {};
  connectionsTotal: Record<string, number> = {};

  packetIn(cmd: string): void {
    this.packetsIn[cmd] = (this.packetsIn[cmd] ?? 0) + 1;
  }

  packetOut(cmd: string, bytes: number): void {
    this.packetsOut[cmd] = (this.packetsOut[cmd] ?? 0) + 1;
    this.bytesOut += bytes;
  }

  refuse(kind: "connect" | "publish" | "subscribe" | "session"): void {
    this.refused[kind] = (this.refused[kind] ?? 0) + 1;
  }

  drop(reason: DropReason): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }
}

/** Why a message or packet was not delivered; each is a label of the dropped-messages metric. */
export type DropReason =
  | "malformed"
  | "packet_too_large"
  | "client_packet_too_large"
  | "slow_subscriber"
  | "queue_full"
  | "offline_qos0"
  | "expired"
  | "not_authorized"
  | "refused_by_limit"
  | "retained_limit"
  | "topic_too_deep";

/** Per-namespace (per-account) counters, published under `$SYS/broker/...` to that account only. */
export class NamespaceStats {
  messagesReceived = 0;
  messagesSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  connected = 0;
  /** Subscriptions held by the namespace's sessions, online or not. */
  subscriptions = 0;
}
