import type { MqttPrincipal } from "../access/broker_hooks.js";
import type { InspectorSink } from "../inspector/types.js";
import { RC } from "../mqtt/reason_codes.js";
import type { BrokerHooks, ClientInfo, Refused } from "../mqtt/types.js";
import type { FlappingGuard } from "./flapping.js";
import type { Limits, Refusal } from "./limits.js";
import { TokenBucket } from "./token_bucket.js";

const MINUTE = 60_000;
/** At most one refusal event per connection per this long in the inspector: a flood must not flood it. */
const EVENT_EVERY_MS = 1000;

/** What one connection needs beyond its account's state. */
interface ConnectionState {
  deviceId: string;
  /** Its own publish rate (plans with a per-connection rate). */
  publishes?: TokenBucket;
  /** Refusals it may collect in a minute before it counts as flooding and is disconnected. */
  grace?: TokenBucket;
  lastEventAt: number;
}

/**
 * Plans at the MQTT point of entry, as broker admission hooks: CONNECT (broker access,
 * flapping, connections and new persistent sessions per account and per device), PUBLISH (payload size, publish rate per
 * connection and per account) and SUBSCRIBE (subscriptions per connection and per account).
 * MQTT 5 gets the specification's reason codes: CONNACK 0x97 quota exceeded, 0x9F connection
 * rate exceeded, 0x87 no broker access; PUBACK/PUBREC and SUBACK 0x97; a connection whose
 * refusals within a minute outnumber its allowance is flooding and is disconnected with 0x96.
 * Every refusal shows in the device's inspector (at most one event a second per connection).
 * Anonymous clients (no device) are outside plans.
 */
/**
 * Connection counts kept across the nodes of a cluster (cluster/shared_limits.ts): the plan's
 * `connections` and `connectionsPerDevice` are checked there, cluster-wide, after this node's
 * own checks.
 */
export interface SharedConnectionCounts {
  claim(client: ClientInfo, accountId: string, deviceId: string, maxAccount: number, maxDevice: number): Promise<"connections" | "connectionsPerDevice" | "unavailable" | undefined>;
  release(client: ClientInfo): void;
}

export function mqttAdmission(deps: { limits: Limits; flapping: FlappingGuard; inspector: InspectorSink; now?: () => number; shared?: SharedConnectionCounts }): Required<Pick<BrokerHooks, "admitConnect" | "admitPublish" | "admitSubscribe" | "clientDisconnected" | "admissionAbandoned">> {
  const { limits, flapping, inspector, shared } = deps;
  const now = deps.now ?? Date.now;
  const connections = new Map<ClientInfo, ConnectionState>();
  const perDevice = new Map<string, number>();

  const note = (deviceId: string, what: string, refusal: Refusal, state?: ConnectionState): void => {
    if (state) {
      const t = now();
      if (t - state.lastEventAt < EVENT_EVERY_MS) return;
      state.lastEventAt = t;
    }
    if (inspector.wants(deviceId)) inspector.record(deviceId, "error", `${what} refused: ${refusal.message}`, { code: "LIMIT_EXCEEDED", limit: refusal.limit });
  };

  const forget = (client: ClientInfo): void => {
    const state = connections.get(client);
    if (!state) return;
    connections.delete(client);
    const n = (perDevice.get(state.deviceId) ?? 1) - 1;
    if (n <= 0) perDevice.delete(state.deviceId);
    else perDevice.set(state.deviceId, n);
  };

  return {
    admitConnect(client, counts) {
      const p = client.principal as unknown as MqttPrincipal;
      if (!p.deviceId) return undefined;
      const plan = limits.planOf(p.accountId);
      const refuse = (reasonCode: number, refusal: Refusal): Refused => {
        note(p.deviceId, "connection", refusal);
        return { reasonCode, reason: refusal.message };
      };
      if (!plan.features.broker) {
        return refuse(RC.NOT_AUTHORIZED, { limit: "features.broker", message: "the account's plan has no broker access; use the MQTT relay or the HTTP API" });
      }
      const blockedMs = flapping.attempt(p.deviceId, plan.flapping);
      if (blockedMs > 0) {
        return refuse(RC.CONNECTION_RATE_EXCEEDED, { limit: "flapping", message: `reconnecting too often: refused for ${Math.ceil(blockedMs / 1000)} s` });
      }
      // A takeover closes the connection it replaces: that one does not count against this one.
      const replaced = counts.replacing ? 1 : 0;
      if (counts.connections - replaced >= plan.connections) {
        return refuse(RC.QUOTA_EXCEEDED, { limit: "connections", message: `the plan's ${plan.connections} connections are in use` });
      }
      const ofDevice = perDevice.get(p.deviceId) ?? 0;
      if (ofDevice - replaced >= plan.connectionsPerDevice) {
        return refuse(RC.QUOTA_EXCEEDED, { limit: "connectionsPerDevice", message: `the device has its plan's ${plan.connectionsPerDevice} connections open` });
      }
      // Before the connection is counted (below): a refusal here must leave no trace.
      const sessions = counts.newPersistentSession;
      if (sessions && sessions.namespace >= plan.persistentSessions) {
        return refuse(RC.QUOTA_EXCEEDED, { limit: "persistentSessions", message: `the plan's ${plan.persistentSessions} persistent sessions are in use; connect with a clean session or reuse a client id` });
      }
      if (sessions?.owner !== undefined && sessions.owner >= plan.persistentSessionsPerDevice) {
        return refuse(RC.QUOTA_EXCEEDED, { limit: "persistentSessionsPerDevice", message: `the device holds its plan's ${plan.persistentSessionsPerDevice} persistent sessions; connect with a clean session or reuse a client id` });
      }
      const admit = (): undefined => {
        perDevice.set(p.deviceId, (perDevice.get(p.deviceId) ?? 0) + 1);
        const perConnection = plan.publishesPerMinutePerConnection;
        const allowance = Math.min(perConnection, plan.publishesPerMinute);
        connections.set(client, {
          deviceId: p.deviceId,
          lastEventAt: 0,
          ...(Number.isFinite(perConnection) && { publishes: new TokenBucket(perConnection, MINUTE, now()) }),
          ...(Number.isFinite(allowance) && { grace: new TokenBucket(Math.max(10, allowance), MINUTE, now()) }),
        });
        return undefined;
      };
      if (!shared || (!Number.isFinite(plan.connections) && !Number.isFinite(plan.connectionsPerDevice))) return admit();
      return shared.claim(client, p.accountId, p.deviceId, plan.connections, plan.connectionsPerDevice).then((verdict) => {
        if (verdict === "connections") return refuse(RC.QUOTA_EXCEEDED, { limit: "connections", message: `the plan's ${plan.connections} connections are in use (across the cluster)` });
        if (verdict === "connectionsPerDevice") return refuse(RC.QUOTA_EXCEEDED, { limit: "connectionsPerDevice", message: `the device has its plan's ${plan.connectionsPerDevice} connections open (across the cluster)` });
        if (verdict === "unavailable") return { reasonCode: RC.SERVER_UNAVAILABLE, reason: "the cluster's store is unreachable; retry later" };
        return admit();
      });
    },

    admissionAbandoned(client) {
      shared?.release(client);
      forget(client);
    },

    admitPublish(client, _topic, payloadBytes) {
      const state = connections.get(client);
      if (!state) return undefined; // anonymous
      const p = client.principal as unknown as MqttPrincipal;
      const t = now();
      let refusal: Refusal | undefined;
      if (state.publishes && !state.publishes.take(t)) {
        refusal = { limit: "publishesPerMinutePerConnection", message: `over the plan's ${state.publishes.capacity} publishes per minute per connection` };
      } else {
        refusal = limits.admitPublish(p.accountId, payloadBytes, t);
      }
      if (!refusal) return undefined;
      const flooding = state.grace !== undefined && !state.grace.take(t);
      // The disconnect is always told; plain refusals at most once a second.
      note(state.deviceId, flooding ? "publish (flooding: disconnected)" : "publish", refusal, flooding ? undefined : state);
      return flooding
        ? { reasonCode: RC.MESSAGE_RATE_TOO_HIGH, reason: `flooding: ${refusal.message}`, disconnect: true }
        : { reasonCode: RC.QUOTA_EXCEEDED, reason: refusal.message };
    },

    admitSubscribe(client, _filter, counts) {
      const state = connections.get(client);
      if (!state) return undefined;
      const plan = limits.planOf((client.principal as unknown as MqttPrincipal).accountId);
      let refusal: Refusal | undefined;
      if (counts.session >= plan.subscriptionsPerConnection) {
        refusal = { limit: "subscriptionsPerConnection", message: `the plan allows ${plan.subscriptionsPerConnection} subscriptions per connection` };
      } else if (counts.namespace >= plan.subscriptions) {
        refusal = { limit: "subscriptions", message: `the plan's ${plan.subscriptions} subscriptions are in use` };
      }
      if (!refusal) return undefined;
      note(state.deviceId, "subscription", refusal);
      return { reasonCode: RC.QUOTA_EXCEEDED, reason: refusal.message };
    },

    clientDisconnected(client) {
      shared?.release(client);
      forget(client);
    },
  };
}
