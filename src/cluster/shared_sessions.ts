import type { ClusterConfig } from "../config/schema.js";
import type { Broker } from "../mqtt/broker.js";
import type { Logger } from "../observability/logger.js";
import type { PgBrokerRepository } from "../store/postgres/broker.js";
import type { PgOrphanMessages } from "../store/postgres/orphans.js";
import type { NodeLiveness } from "./liveness.js";
import type { ClusterNode } from "./node.js";
import { OrphanReplay } from "./orphan_replay.js";
import { SessionHandoff } from "./session_handoff.js";

/**
 * A cluster's nodes sharing persistent sessions through PostgreSQL (docs/cluster.md): the
 * handoff that moves sessions between nodes, on this node's liveness lock. `open` makes the
 * store load and write only this node's sessions, before the broker loads them.
 */
export class SharedSessions {
  private constructor(readonly liveness: NodeLiveness, readonly handoff: SessionHandoff, readonly replay: OrphanReplay) {}

  /** On this node's liveness lock, already taken (`NodeLiveness.take`). */
  static open(options: { config: ClusterConfig; liveness: NodeLiveness; store: PgBrokerRepository; orphans: PgOrphanMessages; broker: Broker; cluster: ClusterNode; logger: Logger }): SharedSessions {
    const { liveness } = options;
    const { orphanWindowMs, adoptIntervalMs } = options.config;
    const replay = new OrphanReplay({
      broker: options.broker, cluster: options.cluster, store: options.orphans, windowMs: orphanWindowMs,
      pollMs: Math.min(adoptIntervalMs, orphanWindowMs / 5), adoptIntervalMs, logger: options.logger,
    });
    const handoff = new SessionHandoff({
      broker: options.broker, cluster: options.cluster, store: options.store, node: liveness.node, replay,
      timeoutMs: options.config.handoffTimeoutMs, adoptIntervalMs, logger: options.logger,
    });
    liveness.onRegained(() => void handoff.forgetMoved());
    options.store.ownedBy(liveness.node);
    return new SharedSessions(liveness, handoff, replay);
  }

  /**
   * Once the broker and the cluster started: answers release requests, claims on CONNECT, adopts
   * dead nodes' sessions, keeps and replays the messages of the adoption gap.
   */
  start(): void {
    this.replay.start();
    this.handoff.start();
  }

  stop(): void {
    this.handoff.stop();
    this.replay.stop();
  }
}
