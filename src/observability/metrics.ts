import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The Prometheus metrics Sluice exports at GET /metrics. One instance per server (no global
 * registry), so tests can run several servers in one process.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({ name: "sluice_mqtt_connections", help: "Open MQTT connections", labelNames: ["transport"], registers: [this.registry] });
  readonly connectionsTotal = new Counter({ name: "sluice_mqtt_connections_total", help: "MQTT connections accepted", labelNames: ["transport"], registers: [this.registry] });
  readonly packetsIn = new Counter({ name: "sluice_mqtt_packets_received_total", help: "MQTT packets received by type", labelNames: ["type"], registers: [this.registry] });
  readonly packetsOut = new Counter({ name: "sluice_mqtt_packets_sent_total", help: "MQTT packets sent by type", labelNames: ["type"], registers: [this.registry] });
  readonly bytesIn = new Counter({ name: "sluice_mqtt_bytes_received_total", help: "Bytes received from MQTT clients", registers: [this.registry] });
  readonly bytesOut = new Counter({ name: "sluice_mqtt_bytes_sent_total", help: "Bytes sent to MQTT clients", registers: [this.registry] });
  readonly dropped = new Counter({ name: "sluice_mqtt_messages_dropped_total", help: "Messages dropped, by reason", labelNames: ["reason"], registers: [this.registry] });
  readonly authFailures = new Counter({ name: "sluice_auth_failures_total", help: "Failed authentications", labelNames: ["protocol"], registers: [this.registry] });
  readonly sessions = new Gauge({ name: "sluice_mqtt_sessions", help: "Sessions held (online and offline)", registers: [this.registry] });
  readonly retained = new Gauge({ name: "sluice_mqtt_retained_messages", help: "Retained messages held", registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "sluice_" });
  }
}
