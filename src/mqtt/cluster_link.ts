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
}
