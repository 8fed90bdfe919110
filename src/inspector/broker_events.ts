import type { MqttPrincipal } from "../access/broker_hooks.js";
import type { BrokerHooks, ClientInfo } from "../mqtt/types.js";
import type { InspectorSink } from "./types.js";

function deviceOf(client: ClientInfo): string {
  return (client.principal as unknown as MqttPrincipal).deviceId;
}

/**
 * The broker's observer hooks, turned into inspector events of the client's device. Each
 * first asks `wants` (switched on?), and per-message ones `watching` (followed live?), so a
 * device nobody inspects costs a lookup per message.
 */
export function inspectorBrokerHooks(inspector: InspectorSink): Pick<BrokerHooks, "clientConnected" | "clientDisconnected" | "subscribed" | "unsubscribed" | "delivered"> {
  const watched = (client: ClientInfo): string | undefined => {
    const deviceId = deviceOf(client);
    return deviceId && inspector.wants(deviceId) ? deviceId : undefined;
  };
  const followed = (client: ClientInfo): string | undefined => {
    const deviceId = deviceOf(client);
    return deviceId && inspector.watching(deviceId) && inspector.wants(deviceId) ? deviceId : undefined;
  };
  return {
    clientConnected(client, present) {
      const d = watched(client);
      if (d) inspector.record(d, "connect", `connected as ${client.clientId} over ${client.transport} (MQTT ${client.protocolVersion === 5 ? "5.0" : client.protocolVersion === 4 ? "3.1.1" : "3.1"})`, {
        clientId: client.clientId, transport: client.transport, remoteAddress: client.remoteAddress, sessionPresent: present,
      });
    },
    clientDisconnected(client, reason, reasonCode) {
      const d = watched(client);
      // The client's own DISCONNECT already names its code in `reason`; the server's do not.
      const code = reasonCode === undefined || reason.includes("(reason 0x") ? "" : ` (reason 0x${reasonCode.toString(16).padStart(2, "0")})`;
      if (d) inspector.record(d, "disconnect", `${client.clientId} disconnected: ${reason}${code}`, {
        clientId: client.clientId, reason, ...(reasonCode === undefined ? {} : { reasonCode }),
      });
    },
    subscribed(client, subscriptions) {
      const d = watched(client);
      if (d) inspector.record(d, "subscribe", `subscribed ${subscriptions.map((s) => `${s.filter} (${s.reasonCode < 0x80 ? `QoS ${s.reasonCode}` : `refused 0x${s.reasonCode.toString(16)}`})`).join(", ")}`, { subscriptions });
    },
    unsubscribed(client, filters) {
      const d = watched(client);
      if (d) inspector.record(d, "unsubscribe", `unsubscribed ${filters.join(", ")}`, { filters });
    },
    delivered(client, message, qos) {
      const d = followed(client);
      if (d) inspector.record(d, "message_out", `${message.topic} (QoS ${qos}, ${message.payload.length} B)`, {
        topic: message.topic, qos, payload: message.payload,
      });
    },
  };
}
