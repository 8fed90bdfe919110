import type { Broker } from "./broker.js";

const VERSION = "sluice 0.1.0";

/**
 * `$SYS/broker/...` statistics, published as retained messages into each account's own
 * namespace: an account sees its own clients and traffic, never another's.
 */
export function publishSysTopics(broker: Broker): void {
  const uptime = Math.floor((Date.now() - broker.startedAt) / 1000);
  for (const ns of broker.namespaceList()) {
    if (ns.sessions.size === 0) continue;
    const values: Record<string, string | number> = {
      version: VERSION,
      uptime: `${uptime} seconds`,
      "clients/connected": ns.stats.connected,
      "clients/total": ns.sessions.size,
      "clients/disconnected": ns.sessions.size - ns.stats.connected,
      "messages/received": ns.stats.messagesReceived,
      "messages/sent": ns.stats.messagesSent,
      "load/bytes/received": ns.stats.bytesReceived,
      "load/bytes/sent": ns.stats.bytesSent,
      "subscriptions/count": ns.stats.subscriptions,
      "retained messages/count": ns.retained.size,
    };
    for (const [key, value] of Object.entries(values)) {
      broker.publishInternal(ns.name, {
        topic: `$SYS/broker/${key}`, payload: Buffer.from(String(value)), qos: 0, retain: true,
        properties: undefined, expiresAt: undefined, publisher: undefined,
      });
    }
  }
}
