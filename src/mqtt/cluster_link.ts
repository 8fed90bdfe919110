import type { Message } from "./types.js";

/**
 * What the broker asks of a cluster (src/cluster/, docs/cluster.md), when there is one. The
 * broker knows nothing of NATS: it says which filters its sessions hold, hands over the messages
 * it accepts, and takes back what other nodes send (`Broker.routeFromCluster`,
 * `Broker.routeToGroup`, `Broker.applyRetained`). Without a link the broker runs as one node and
 * none of this is on its path.
 */
export interface ClusterLink {
  /** False while the bus is unreachable: new connections are refused (CONNACK 0x88), QoS 1/2 PUBLISH is not acknowledged. */
  readonly available: boolean;
  /**
   * A message accepted on this node, for the other nodes and for every `$share` group (which
   * this node does not serve itself: the bus picks one member node per group). Resolves once the
   * bus has it, for an ack to wait on; rejects with a `reasonCode` when it cannot be sent. QoS 0
   * gets no promise.
   */
  publish(namespace: string, message: Message): Promise<void> | undefined;
  /** The first session of this node subscribed to `filter` (in `group` for `$share/group/filter`). */
  interestAdded(namespace: string, filter: string, group: string | undefined): void;
  /** The last session of this node holding that subscription let it go. */
  interestRemoved(namespace: string, filter: string, group: string | undefined): void;
  /** A retained message set (or cleared, empty payload) on this node: every node keeps it. */
  retain(namespace: string, message: Message): void;
  /**
   * A client connected on this node: the other nodes end any older connection with its client
   * id in `namespace` (takeover, as on one node). Returns the connection's stamp, which the
   * broker keeps on it to answer `Broker.connectedElsewhere`.
   */
  clientConnected(namespace: string, clientId: string): ConnectionStamp;
}

/** Where and when a connection was made, as the cluster orders connections of one client id. */
export interface ConnectionStamp {
  /** Milliseconds, never below a stamp the node had heard of when it made this one. */
  at: number;
  /** The node instance that made it. */
  origin: string;
}

/** True when `a` was made before `b`: by stamp, then by origin, so two nodes always agree. */
export function stampBefore(a: ConnectionStamp, b: ConnectionStamp): boolean {
  return a.at < b.at || (a.at === b.at && a.origin < b.origin);
}
