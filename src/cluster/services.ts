import type { ClusterConfig } from "../config/schema.js";
import type { EventHub } from "../events/hub.js";
import type { Inspector } from "../inspector/inspector.js";
import type { Logger } from "../observability/logger.js";
import type { Pool } from "../store/postgres/pool.js";
import { ClusterControl, type ControlDeps } from "./control.js";
import { EventRelay } from "./event_relay.js";
import { PresenceGather } from "./presence_gather.js";
import { InspectorHistory, mergeHistory, type HistoryIdentity } from "./inspector_history.js";
import type { NodeLiveness } from "./liveness.js";
import type { ClusterNode } from "./node.js";
import { SharedLimits } from "./shared_limits.js";
import { SharedRates } from "./shared_rates.js";

/**
 * What a clustered node adds beside routing, built by the composition root (server.ts):
 * plan limits counted in the shared PostgreSQL (built before the broker, whose admission uses
 * them), then the control subject and the event relay (once the bus node exists).
 */
export interface SharedPlanLimits {
  connections: SharedLimits;
  rates: SharedRates;
  stop(): Promise<void>;
}

/**
 * Only with both a bus and PostgreSQL (then this node holds its liveness lock, which its
 * connection counts hang on): without a shared store, accounts are not shared either.
 */
export function sharedPlanLimits(cluster: ClusterConfig, pool: Pool | undefined, liveness: NodeLiveness | undefined, logger: Logger): SharedPlanLimits | undefined {
  if (cluster.url === "" || !pool || !liveness) return undefined;
  const connections = new SharedLimits({ pool, liveness, sweepMs: cluster.adoptIntervalMs, logger });
  const rates = new SharedRates({ pool, creditPercent: cluster.rateCreditPercent, liveNodes: () => connections.liveNodes, logger });
  connections.start();
  return {
    connections, rates,
    async stop() {
      await rates.stop();
      await connections.stop();
    },
  };
}

export interface ClusterServices {
  control: ClusterControl;
  relay: EventRelay;
  presence: PresenceGather;
  /** Other nodes' inspector history of a device, for the inspector routes (`remote`, `merge`). */
  history: { remote: InspectorHistory["remote"]; merge: typeof mergeHistory };
  stop(): void;
}

export function startClusterServices(
  node: ClusterNode,
  deps: Omit<ControlDeps, "bus" | "logger" | "identity"> & {
    identity: ControlDeps["identity"] & HistoryIdentity;
    hub: EventHub; inspector: Inspector; refreshMs: number; logger: Logger;
    /** This node's live device connections, and how long a device page waits for the other nodes' (presence_gather.ts). */
    presence: { connected(deviceId: string): boolean }; presenceWaitMs: number; otherNodes?: () => number;
    /** `cluster.historyWaitMs` and `cluster.historyMaxReplyBytes`. */
    historyWaitMs: number; historyMaxReplyBytes: number;
  },
): ClusterServices {
  const control = new ClusterControl({ bus: node, identity: deps.identity, actions: deps.actions, params: deps.params, limits: deps.limits, inspector: deps.inspector, logger: deps.logger });
  const relay = new EventRelay({ bus: node, hub: deps.hub, inspector: deps.inspector, refreshMs: deps.refreshMs, logger: deps.logger });
  const presence = new PresenceGather({
    bus: node, connectedHere: (id) => deps.presence.connected(id), waitMs: deps.presenceWaitMs, logger: deps.logger,
    ...(deps.otherNodes && { otherNodes: deps.otherNodes }),
  });
  const history = new InspectorHistory({ bus: node, inspector: deps.inspector, identity: deps.identity, waitMs: deps.historyWaitMs, maxReplyBytes: deps.historyMaxReplyBytes, logger: deps.logger });
  control.start();
  relay.start();
  presence.start();
  history.start();
  return {
    control, relay, presence,
    history: { remote: (accountId, deviceId, options) => history.remote(accountId, deviceId, options), merge: mergeHistory },
    stop() {
      history.stop();
      relay.stop();
      control.stop();
    },
  };
}
