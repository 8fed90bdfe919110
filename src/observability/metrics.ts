import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** What the broker exposes for scraping; plain numbers it keeps on its hot path. */
export interface BrokerMetricsSource {
  readonly stats: {
    readonly packetsIn: Record<string, number>;
    readonly packetsOut: Record<string, number>;
    readonly dropped: Record<string, number>;
    readonly bytesIn: number;
    readonly bytesOut: number;
    readonly authFailures: number;
    readonly connectionsTotal: Record<string, number>;
  };
  readonly connections: Iterable<{ readonly socket: { readonly transport: string } }>;
  readonly sessionCount: number;
  readonly retainedCount: number;
}

/**
 * The Prometheus metrics Sluice exports at GET /metrics. One instance per server (no global
 * registry), so tests can run several servers in one process. Broker figures are read from
 * its counters at scrape time rather than pushed per packet.
 */
export class Metrics {
  readonly registry = new Registry();
  /** HTTP increments this directly; the MQTT share is read from the broker at scrape time. */
  readonly authFailures: Counter<"protocol">;
  private broker: BrokerMetricsSource | undefined;
  private readonly seen = new Map<string, number>();

  constructor(options: { processMetrics?: boolean } = {}) {
    const metrics = this;
    this.authFailures = new Counter({
      name: "sluice_auth_failures_total", help: "Failed authentications by protocol", labelNames: ["protocol"], registers: [this.registry],
      collect() {
        if (metrics.broker) metrics.advance(this, "auth", { protocol: "mqtt" }, metrics.broker.stats.authFailures);
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "sluice_" });
  }

  bindBroker(broker: BrokerMetricsSource): void {
    this.broker = broker;
    const registers = [this.registry];
    const metrics = this;
    new Gauge({
      name: "sluice_mqtt_connections", help: "Open MQTT connections by transport", labelNames: ["transport"], registers,
      collect() {
        this.reset();
        for (const c of broker.connections) this.inc({ transport: c.socket.transport });
      },
    });
    const counters: [string, string, string | undefined, () => Record<string, number>][] = [
      ["sluice_mqtt_connections_total", "MQTT connections accepted by transport", "transport", () => broker.stats.connectionsTotal],
      ["sluice_mqtt_packets_received_total", "MQTT packets received by type", "type", () => broker.stats.packetsIn],
      ["sluice_mqtt_packets_sent_total", "MQTT packets sent by type", "type", () => broker.stats.packetsOut],
      ["sluice_mqtt_messages_dropped_total", "Messages or packets dropped, by reason", "reason", () => broker.stats.dropped],
      ["sluice_mqtt_bytes_received_total", "Bytes received from MQTT clients", undefined, () => ({ "": broker.stats.bytesIn })],
      ["sluice_mqtt_bytes_sent_total", "Bytes sent to MQTT clients", undefined, () => ({ "": broker.stats.bytesOut })],
    ];
    for (const [name, help, label, read] of counters) {
      new Counter({
        name, help, labelNames: label ? [label] : [], registers,
        collect() {
          for (const [key, value] of Object.entries(read())) metrics.advance(this, name, label ? { [label]: key } : {}, value);
        },
      });
    }
    new Gauge({ name: "sluice_mqtt_sessions", help: "Sessions held, online and offline", registers, collect() { this.set(broker.sessionCount); } });
    new Gauge({ name: "sluice_mqtt_retained_messages", help: "Retained messages held", registers, collect() { this.set(broker.retainedCount); } });
  }

  /** The cluster's counters (src/cluster/stats.ts), read at scrape time like the broker's. */
  bindCluster(stats: { readonly published: number; readonly received: number; readonly routed: number; readonly dropped: Record<string, number>; readonly subscriptions: number; readonly disconnects: number; readonly notices: number; readonly takeovers: number }, available: () => boolean): void {
    const registers = [this.registry];
    const metrics = this;
    const counters: [string, string, string | undefined, () => Record<string, number>][] = [
      ["sluice_cluster_published_total", "Messages this node sent on the NATS bus", undefined, () => ({ "": stats.published })],
      ["sluice_cluster_received_total", "Messages this node received from the NATS bus, valid or not", undefined, () => ({ "": stats.received })],
      ["sluice_cluster_routed_total", "Messages from the bus handed to this node's subscribers", undefined, () => ({ "": stats.routed })],
      ["sluice_cluster_dropped_total", "Messages from or for the bus dropped, by reason (malformed, version, subject_mismatch, duplicate, unavailable, ...)", "reason", () => stats.dropped],
      ["sluice_cluster_connect_notices_total", "Connect notices (a client id connected on another node) this node received from the bus, valid or not", undefined, () => ({ "": stats.notices })],
      ["sluice_cluster_takeovers_total", "Connections this node ended because their client id connected on another node", undefined, () => ({ "": stats.takeovers })],
      ["sluice_cluster_disconnects_total", "Times a NATS connection was lost", undefined, () => ({ "": stats.disconnects })],
    ];
    for (const [name, help, label, read] of counters) {
      new Counter({
        name, help, labelNames: label ? [label] : [], registers,
        collect() {
          for (const [key, value] of Object.entries(read())) metrics.advance(this, name, label ? { [label]: key } : {}, value);
        },
      });
    }
    new Gauge({ name: "sluice_cluster_available", help: "1 while this node reaches NATS and takes MQTT clients, 0 while it refuses them (CONNACK 0x88)", registers, collect() { this.set(available() ? 1 : 0); } });
    new Gauge({ name: "sluice_cluster_subscriptions", help: "NATS subscriptions this node holds for its clients' filters", registers, collect() { this.set(stats.subscriptions); } });
  }

  /** Persistent sessions moving between nodes (cluster/session_handoff.ts), on a cluster on PostgreSQL. */
  bindSessionMoves(stats: { readonly claimed: number; readonly released: number; readonly adopted: number; readonly duplicates: number }): void {
    const metrics = this;
    const name = "sluice_cluster_sessions_moved_total";
    new Counter({
      name, help: "Persistent sessions moved: claimed from another node on CONNECT, released to another node, adopted from a dead node", labelNames: ["how"], registers: [this.registry],
      collect() {
        for (const how of ["claimed", "released", "adopted"] as const) metrics.advance(this, name, { how }, stats[how]);
      },
    });
    const dupName = "sluice_cluster_handoff_duplicates_total";
    new Counter({
      name: dupName, help: "Copies a node got from the bus while taking a session over that the previous owner had stored (delivered once)", registers: [this.registry],
      collect() {
        metrics.advance(this, dupName, {}, stats.duplicates);
      },
    });
  }

  /** Counters only go up: add what the source counted since the last scrape. */
  private advance(counter: Counter<string>, name: string, labels: Record<string, string>, value: number): void {
    const key = `${name}|${JSON.stringify(labels)}`;
    const delta = value - (this.seen.get(key) ?? 0);
    if (delta > 0) counter.inc(labels, delta);
    this.seen.set(key, value);
  }
}
