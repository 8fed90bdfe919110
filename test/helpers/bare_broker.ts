import type { AddressInfo, Server } from "node:net";
import { after, before } from "node:test";
import { pino } from "pino";
import { defaultConfig, type MqttLimits } from "../../src/config/schema.js";
import { Broker } from "../../src/mqtt/broker.js";
import { listenTcp } from "../../src/mqtt/transports/tcp.js";
import type { BrokerHooks } from "../../src/mqtt/types.js";

/**
 * A broker alone (no platform around it) on an ephemeral loopback port, for the enclosing
 * describe: started before its tests, stopped after. By default every client is accepted into
 * the namespace "test".
 */
export function brokerOnLoopback(options: { limits?: Partial<MqttLimits>; hooks?: Partial<BrokerHooks> } = {}): { broker: () => Broker; port: () => number } {
  let broker: Broker;
  let server: Server;
  before(async () => {
    broker = new Broker({
      limits: { ...defaultConfig.mqtt, ...options.limits },
      hooks: { authenticate: async () => ({ ok: true, namespace: "test", principal: {} }), ...options.hooks },
      logger: pino({ level: "silent" }),
      sysInterval: 0,
    });
    await broker.start();
    server = await listenTcp(broker, "127.0.0.1", 0);
  });
  after(async () => {
    server.close();
    await broker.stop();
  });
  return { broker: () => broker, port: () => (server.address() as AddressInfo).port };
}
