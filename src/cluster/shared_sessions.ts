import type { ClusterConfig } from "../config/schema.js";
import type { Broker } from "../mqtt/broker.js";
import type { Logger } from "../observability/logger.js";
import type { PgBrokerRepository } from "../store/postgres/broker.js";
import { NodeLiveness } from "./liveness.js";
import type { ClusterNode } from "./node.js";
import { SessionHandoff } from "./session_handoff.js";

/**
 * A cluster's nodes sharing persistent sessions through PostgreSQL (docs/cluster.md): this
 * node's liveness lock, and the handoff that moves sessions between nodes. `open` takes the lock
 * and makes the store load and write only this node's sessions, before the broker loads them.
 */
export class SharedSessions {
  private constructor(readonly liveness: NodeLiveness, readonly handoff: SessionHandoff) {}

  static async open(options: { config: ClusterConfig; postgresUrl: string; store: PgBrokerRepository; broker: Broker; cluster: ClusterNode; logger: Logger }): Promise<SharedSessions> {
    const node = options.config.nodeId || options.cluster.origin.slice(0, options.cluster.origin.lastIndexOf("/"));
    const handoff = new SessionHandoff({
      broker: options.broker, cluster: options.cluster, store: options.store, node,
      timeoutMs: options.config.handoffTimeoutMs, adoptIntervalMs: options.config.adoptIntervalMs, logger: options.logger,
    });
    const liveness = new NodeLiveness({
      url: options.postgresUrl, node, logger: options.logger, waitMs: options.config.livenessWaitMs,
      regained: () => void handoff.forgetMoved(),
    });
    await liveness.start();
    options.store.ownedBy(node);
    return new SharedSessions(liveness, handoff);
  }

  /** Once the broker and the cluster started: answers release requests, claims on CONNECT, adopts dead nodes' sessions. */
  start(): void {
    this.handoff.start();
  }
}
