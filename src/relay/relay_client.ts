import { MqttClient, type IClientOptions, type IPublishPacket } from "mqtt";
import type { RelayCountersJson, RelayEventJson, RelayStateName } from "../http/api_types.js";
import type { Logger } from "../observability/logger.js";
import type { OutboundGuard } from "../outbound/guard.js";
import type { QueuedDownlink } from "../store/sqlite/relays.js";
import type { DownlinkQueue } from "./downlink_queue.js";
import type { RelaySettings } from "./relay_model.js";

export type RelayState = RelayStateName;
export type RelayCounters = RelayCountersJson;
export type RelayEvent = RelayEventJson;

export interface RelayClientDeps {
  relayId: string;
  settings: RelaySettings;
  password: string | undefined;
  key: string | undefined;
  queue: DownlinkQueue;
  counters: RelayCounters;
  /** Filters of an earlier configuration to drop from the broker's persistent session. */
  unsubscribe: readonly string[];
  /** Subscribe at the first CONNACK even when the broker kept the session (the filters changed). */
  forceSubscribe: boolean;
  /** An uplink message; the QoS 1/2 acknowledgement waits for the promise (stored, or failed for good). */
  onMessage(topic: string, payload: Buffer, qos: 0 | 1 | 2): Promise<void>;
  onEvent(kind: RelayEvent["kind"], summary: string, detail?: Record<string, unknown>): void;
  /** The connection state changed (`state` holds the new one). */
  onState?(state: RelayState): void;
  logger: Logger;
  /**
   * Every connection goes through it: `outbound.allowPrivateTargets` and Sluice's own
   * listeners (a relay to itself would loop) are decided on the address connected to.
   */
  guard: OutboundGuard;
}

/** Downlink messages in flight at once; the queue keeps the rest in order. */
const DOWNLINK_WINDOW = 32;
/** Uplink QoS 0 messages in the pipeline at once; past it they are dropped (nobody acknowledges QoS 0). */
const MAX_QOS0_PENDING = 256;
/** How long a persistent MQTT 5 session outlives the relay's connection, seconds. */
const SESSION_EXPIRY_S = 7 * 24 * 3600;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * One relay's connection to its external broker. A fresh MQTT.js client per attempt, with
 * MQTT.js's own reconnect off: the backoff (exponential, jittered, bounded) is ours, and no
 * state of a dead connection (its outgoing store) is carried into the next; the downlink queue
 * in the store is the one record of what still has to go out.
 */
export class RelayClient {
  private current: RelayState = "disconnected";
  lastError: string | null = null;
  lastErrorAt: Date | null = null;
  connectedAt: Date | null = null;
  private client: MqttClient | undefined;
  /** Increments per connection: callbacks of an earlier connection are ignored. */
  private generation = 0;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private qos0Pending = 0;
  private firstConnack = true;
  private pumping = false;
  private pumpAgain = false;

  constructor(private readonly deps: RelayClientDeps) {}

  get state(): RelayState {
    return this.current;
  }

  private setState(state: RelayState): void {
    if (state === this.current) return;
    this.current = state;
    this.deps.onState?.(state);
  }

  start(): void {
    this.connect();
  }

  /** Ends the connection (a DISCONNECT, so a persistent session stays on the broker). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.connectedAt = null;
    this.setState("stopped");
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.generation++;
    if (client) await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }

  /**
   * A downlink message. QoS 0 goes out now when connected, else is dropped; QoS 1/2 is stored
   * first and sent in queue order, so it survives a lost connection and a restart.
   */
  async send(m: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean }): Promise<"sent" | "queued" | "dropped"> {
    const { counters, queue } = this.deps;
    if (m.qos === 0) {
      if (this.state !== "connected" || !this.client) {
        counters.dropped++;
        return "dropped";
      }
      this.client.publish(m.topic, m.payload, { qos: 0, retain: m.retain });
      counters.messages_out++;
      return "sent";
    }
    if (!(await queue.push(m))) {
      counters.dropped++;
      return "dropped";
    }
    counters.queued = queue.length;
    this.pump();
    return this.state === "connected" ? "sent" : "queued";
  }

  private options(): IClientOptions {
    const s = this.deps.settings;
    return {
      protocol: s.tls ? "mqtts" : "mqtt",
      host: s.host,
      port: s.port,
      clientId: s.client_id,
      protocolVersion: s.protocol_version,
      keepalive: s.keepalive,
      clean: s.clean,
      username: s.username ?? undefined,
      password: this.deps.password,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Only messages of this connection go out; the stored queue holds the rest.
      queueQoSZero: false,
      resubscribe: false,
      ...(s.protocol_version === 5 && !s.clean && { properties: { sessionExpiryInterval: SESSION_EXPIRY_S } }),
    };
  }

  private connect(): void {
    if (this.stopped) return;
    const gen = ++this.generation;
    this.setState("connecting");
    const s = this.deps.settings;
    let client: MqttClient;
    try {
      // MqttClient with a stream of our own rather than mqtt.connect: MQTT.js's TCP transport
      // passes no `lookup` to net, and the guard must see the address of every connection.
      const guard = this.deps.guard;
      const tls = s.tls ? { ca: s.ca ?? undefined, cert: s.cert ?? undefined, key: this.deps.key, rejectUnauthorized: true } : undefined;
      client = new MqttClient(() => guard.connect({ host: s.host, port: s.port, ...(tls && { tls }) }), this.options());
    } catch (err) {
      // The TLS context is built synchronously: a bad certificate or key throws here,
      // and must leave this relay failed (and retrying), not take the server down.
      this.client = undefined;
      this.fail(`cannot connect: ${(err as Error).message}`);
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    // Ack after store: MQTT.js sends a QoS 1 PUBACK only once handleMessage calls back, for 3.1.1
    // and 5 alike, and reads the next packet only then: messages are handled in
    // arrival order, one at a time, and an acknowledged message is a stored one.
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void) => {
      // A message arriving while this connection is being replaced is neither stored nor
      // acknowledged: the external broker sends it again to the next connection.
      if (gen !== this.generation) return callback(new Error("relay connection replaced"));
      this.deps.counters.messages_in++;
      const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
      if (packet.qos === 0) {
        callback();
        if (this.qos0Pending >= MAX_QOS0_PENDING) {
          this.deps.counters.busy_dropped++;
          return;
        }
        this.qos0Pending++;
        this.deps.onMessage(packet.topic, payload, 0).catch(() => undefined).finally(() => this.qos0Pending--);
        return;
      }
      this.deps.onMessage(packet.topic, payload, packet.qos).then(
        () => callback(),
        (err: unknown) => {
          // Not stored, and it might be later (a full store, the plan's rate): no PUBACK, and a
          // new connection after the backoff, so that the external broker sends it again.
          callback(err instanceof Error ? err : new Error(String(err)));
          if (gen === this.generation) {
            this.fail(`not stored, will be delivered again: ${err instanceof Error ? err.message : String(err)}`);
            client.end(true);
          }
        },
      );
    };
    client.on("connect", (connack) => {
      if (gen !== this.generation) return;
      this.connectedAt = new Date();
      this.attempts = 0;
      this.setState("connected");
      const sessionPresent = connack.sessionPresent;
      this.deps.onEvent("connect", `connected to ${s.host}:${s.port} as ${s.client_id}${sessionPresent ? " (session resumed)" : ""}`, {
        host: s.host, port: s.port, clientId: s.client_id, sessionPresent,
      });
      const force = this.firstConnack && this.deps.forceSubscribe;
      if (this.firstConnack && this.deps.unsubscribe.length > 0) client.unsubscribe([...this.deps.unsubscribe]);
      this.firstConnack = false;
      // A resumed session still holds the subscriptions; subscribing again would make a
      // 3.1.1 broker resend every retained message at each reconnect.
      if (!sessionPresent || force || s.clean) this.subscribe(client, gen);
      this.pump();
    });
    client.on("error", (err) => {
      if (gen !== this.generation) return;
      this.fail(err.message);
    });
    client.on("close", () => {
      if (gen !== this.generation) return;
      const wasConnected = this.state === "connected";
      this.connectedAt = null;
      this.setState("disconnected");
      this.deps.queue.rewind();
      if (wasConnected) this.deps.onEvent("disconnect", `disconnected from ${s.host}:${s.port}`, { host: s.host, port: s.port });
      client.removeAllListeners();
      client.on("error", () => undefined); // a late socket error must not be unhandled
      client.end(true);
      this.scheduleReconnect();
    });
  }

  private subscribe(client: MqttClient, gen: number): void {
    const s = this.deps.settings;
    // 5.0: No Local keeps our own downlink from coming back as uplink when a filter covers it;
    // Retain Handling 1 sends retained messages only for a subscription the session lacked.
    // QoS 2 is asked as QoS 1: MQTT.js acknowledges a QoS 2 message (PUBREC) before handing it
    // over and keeps it in memory until PUBREL, so a restart in between would lose it. At QoS 1
    // the PUBACK waits for the store (see connect), which is the guarantee we can keep.
    const map = Object.fromEntries(
      s.subscriptions.map((sub) => {
        const qos = Math.min(sub.qos, 1) as 0 | 1;
        return [sub.topic, s.protocol_version === 5 ? { qos, nl: true, rh: 1 as const } : { qos }];
      }),
    );
    client.subscribe(map, (err, granted) => {
      if (gen !== this.generation) return;
      if (err) return this.fail(`subscribe failed: ${err.message}`);
      // MQTT.js reports a refused filter (3.1.1 0x80, 5.0 any code >= 0x80) in `qos`.
      const refused = (granted ?? []).filter((g) => g.qos >= 0x80);
      if (refused.length > 0) this.fail(`subscription refused by the broker: ${refused.map((g) => g.topic).join(", ")}`);
    });
  }

  private fail(message: string): void {
    this.lastError = message;
    this.lastErrorAt = new Date();
    this.deps.onEvent("error", message);
    this.deps.logger.debug({ relay: this.deps.relayId, err: message }, "relay error");
  }

  /** Exponential, with jitter (so many relays of one broker do not come back in step), bounded. */
  private scheduleReconnect(): void {
    if (this.stopped) return;
    const { reconnect_min_ms: min, reconnect_max_ms: max } = this.deps.settings;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.attempts, 30));
    const delay = Math.max(min, ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempts++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.deps.counters.reconnects++;
      this.connect();
    }, delay);
    this.timer.unref();
  }

  /**
   * Sends queued messages while connected, keeping at most DOWNLINK_WINDOW in flight. One take
   * from the store at a time: a call meanwhile makes another pass once it is done.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    const client = this.client;
    if (this.state !== "connected" || !client) return;
    this.pumping = true;
    const gen = this.generation;
    const { queue } = this.deps;
    queue.take(DOWNLINK_WINDOW).then(
      (rows) => {
        // Taken for a connection that is gone: the queue was rewound, they go to the next.
        if (gen !== this.generation) return;
        for (const m of rows) this.publishQueued(client, gen, m);
      },
      (err: unknown) => this.fail(`the downlink queue cannot be read: ${err instanceof Error ? err.message : String(err)}`),
    ).finally(() => {
      this.pumping = false;
      if (!this.pumpAgain) return;
      this.pumpAgain = false;
      this.pump();
    });
  }

  private publishQueued(client: MqttClient, gen: number, m: QueuedDownlink): void {
    const { queue, counters } = this.deps;
    client.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain }, (err) => {
      if (gen !== this.generation) return; // left in the queue; sent again after a reconnect
      // The broker answered with a refusal (an MQTT 5 PUBACK reason code, e.g. its ACL): it
      // would refuse it again, so it leaves the queue, counted and told, rather than block it.
      const refused = err !== undefined && err !== null && typeof (err as { code?: unknown }).code === "number";
      if (err && !refused) return; // the connection failed: sent again after a reconnect
      // Not removed: it stays stored and goes again after the next reconnect (QoS 1 allows a duplicate).
      queue.done(m.seq).catch((e: unknown) => this.fail(`a sent downlink could not leave the queue: ${e instanceof Error ? e.message : String(e)}`));
      if (refused) {
        counters.dropped++;
        this.fail(`the broker refused the downlink on ${m.topic}: ${err.message}`);
      } else counters.messages_out++;
      counters.queued = queue.length;
      this.pump();
    });
  }
}
