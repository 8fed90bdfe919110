import { notFound } from "../errors.js";
import type { RelayJson, RelayStateEventJson, RelayStatusDetailJson, RelayStatusJson } from "../http/api_types.js";
import { RC } from "../mqtt/reason_codes.js";
import { generateId } from "../identity/tokens.js";
import type { InspectorSink } from "../inspector/types.js";
import type { Logger } from "../observability/logger.js";
import type { OutboundGuard } from "../outbound/guard.js";
import type { RelayRepository } from "../store/sqlite/relays.js";
import type { DeviceRow } from "../store/types.js";
import { DeviceResolver, keyOf } from "./device_mapping.js";
import { DownlinkQueue } from "./downlink_queue.js";
import { RelayClient, type RelayCounters, type RelayEvent } from "./relay_client.js";
import { relayInfo, validateRelayInput, type Relay } from "./relay_model.js";
import type { RelaySecrets } from "./secrets.js";

export interface DownlinkMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface RelayServiceDeps {
  repo: RelayRepository;
  secrets: RelaySecrets;
  /** The pipeline's entry for relayed messages (Pipeline.fromRelay): resolves once handled. */
  ingest(device: { accountId: string; id: string }, topic: string, payload: Buffer, via: { relay: string; qos: 0 | 1 | 2 }): Promise<void>;
  /** Routes a relayed message to the account's own broker subscribers (Broker.inject). */
  route(accountId: string, message: DownlinkMessage): void;
  /** A device row, cached (the pipeline's DeviceCache). */
  device(accountId: string, deviceId: string): Promise<DeviceRow | undefined>;
  inspector: InspectorSink;
  logger: Logger;
  /** The account's plan on creating one more relay, given how many it has; throws to refuse. */
  admitRelay?(accountId: string, existing: number): void;
  /** What relays may connect to (relay_client.ts); also refuses a forbidden IP literal on create/edit. */
  guard: OutboundGuard;
  /**
   * A relay's status changed (connection state, an error) or the relay was deleted (`status`
   * null): the composition root tells it on the account's `relay_state` channel of `/events`.
   */
  statusChanged?(accountId: string, event: RelayStateEventJson): void;
}

/** Relay-level events kept for the status API. */
const EVENTS_KEPT = 50;
/** Devices a relay remembers having delivered for, to tell them of its connection changes. */
const SEEN_DEVICES_KEPT = 1000;

interface Running {
  relay: Relay;
  client: RelayClient | undefined;
  queue: DownlinkQueue;
  counters: RelayCounters;
  events: RelayEvent[];
  /** Device ids this relay delivered for lately (insertion-ordered, bounded). */
  seen: Set<string>;
  /** Unmapped messages are counted always, told (event, log) at most once a second. */
  lastUnmappedEventAt: number;
}

const zeroCounters = (): RelayCounters => ({
  messages_in: 0, messages_out: 0, queued: 0, dropped: 0, reconnects: 0, unmapped: 0, failed: 0, busy_dropped: 0,
});

/**
 * The account API's relays and their running clients: each active relay holds one connection
 * to its external broker (relay_client.ts). Uplink: topic or payload → device (device_mapping)
 * → the pipeline, as if the device had published it to Sluice. Downlink: what the platform
 * publishes to a device a relay serves also goes to that relay's broker, on its downlink topic.
 */
export class RelayService {
  private readonly running = new Map<string, Running>();
  private readonly resolver: DeviceResolver;
  /** Relays being created, per account: counted by the plan's admission until they run. */
  private readonly creating = new Map<string, number>();

  constructor(private readonly deps: RelayServiceDeps) {
    this.resolver = new DeviceResolver(deps.repo);
  }

  /** Loads every relay and connects the active ones. */
  async start(): Promise<void> {
    for (const relay of await this.deps.repo.all()) {
      const queue = await DownlinkQueue.open(this.deps.repo, relay.id, relay.settings.max_queue);
      this.launch(relay, { unsubscribe: [], forceSubscribe: false }, queue);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.client?.stop()));
    this.running.clear();
  }

  /** A device changed (tags, deletion): mappings resolve again. */
  devicesChanged(): void {
    this.resolver.clear();
  }

  list(accountId: string): RelayJson[] {
    return [...this.running.values()].filter((r) => r.relay.accountId === accountId).map((r) => this.info(r));
  }

  get(accountId: string, id: string): RelayJson {
    return this.info(this.find(accountId, id));
  }

  status(accountId: string, id: string): RelayStatusDetailJson {
    const r = this.find(accountId, id);
    return { ...this.statusOf(r), events: [...r.events].reverse() };
  }

  async create(accountId: string, input: unknown): Promise<string> {
    const creating = this.creating.get(accountId) ?? 0;
    this.deps.admitRelay?.(accountId, this.list(accountId).length + creating);
    const id = generateId();
    const { settings, secrets } = validateRelayInput(input, undefined, id);
    this.checkTarget(settings.host, settings.port);
    const now = new Date();
    const relay: Relay = { id, accountId, settings, secrets: {}, createdAt: now, updatedAt: now };
    this.applySecrets(relay, secrets);
    this.creating.set(accountId, creating + 1);
    try {
      await this.deps.repo.put(relay);
    } finally {
      const n = (this.creating.get(accountId) ?? 1) - 1;
      if (n === 0) this.creating.delete(accountId);
      else this.creating.set(accountId, n);
    }
    this.launch(relay, { unsubscribe: [], forceSubscribe: true }, DownlinkQueue.empty(this.deps.repo, id, settings.max_queue));
    return id;
  }

  async edit(accountId: string, id: string, input: unknown): Promise<void> {
    const current = this.find(accountId, id);
    const { settings, secrets } = validateRelayInput(input, current.relay.settings, id);
    this.checkTarget(settings.host, settings.port);
    const relay: Relay = { ...current.relay, settings, secrets: { ...current.relay.secrets }, updatedAt: new Date() };
    this.applySecrets(relay, secrets);
    await this.deps.repo.put(relay);
    const before = new Set(current.relay.settings.subscriptions.map((s) => s.topic));
    const after = settings.subscriptions.map((s) => s.topic);
    const changed = JSON.stringify(current.relay.settings.subscriptions) !== JSON.stringify(settings.subscriptions);
    await current.client?.stop();
    // Counters, events and the queue carry over an edit: the relay is the same one.
    this.launch(relay, { unsubscribe: changed ? [...before].filter((t) => !after.includes(t)) : [], forceSubscribe: changed }, current.queue, current);
  }

  async delete(accountId: string, id: string): Promise<void> {
    const r = this.find(accountId, id);
    await r.client?.stop();
    this.running.delete(id);
    await this.deps.repo.delete(accountId, id); // its queue goes with it (ON DELETE CASCADE)
    this.deps.statusChanged?.(accountId, { relay: id, status: null });
  }

  /**
   * Platform → device: for each active relay of the account with a downlink topic that serves
   * `deviceId` (its mapping can name the device), the message goes to that relay's broker.
   * Returns how many relays took it.
   */
  async downlink(accountId: string, deviceId: string, message: DownlinkMessage): Promise<number> {
    const relays = [...this.running.values()].filter((r) => r.relay.accountId === accountId && r.client && r.relay.settings.downlink_topic !== null);
    if (relays.length === 0) return 0;
    const device = await this.deps.device(accountId, deviceId);
    if (!device) return 0;
    let taken = 0;
    for (const r of relays) {
      const key = await this.resolver.keyFor(r.relay.settings.mapping, device);
      // The relay may have been stopped, edited or deleted meanwhile.
      const client = r.client;
      if (key === undefined || !client || r.relay.settings.downlink_topic === null) continue;
      const topic = r.relay.settings.downlink_topic
        .replaceAll("$SERIAL$", key)
        .replaceAll("$DEVICE$", device.id)
        .replaceAll("$TOPIC$", message.topic);
      const outcome = await client.send({ ...message, topic });
      taken++;
      if (this.deps.inspector.wants(device.id)) {
        this.deps.inspector.record(device.id, outcome === "dropped" ? "error" : "message_out", `relay ${r.relay.settings.name}: ${topic} (QoS ${message.qos}, ${message.payload.length} B) ${outcome}`, {
          relay: r.relay.id, topic, qos: message.qos, outcome,
        });
      }
    }
    return taken;
  }

  private find(accountId: string, id: string): Running {
    const r = this.running.get(id);
    if (!r || r.relay.accountId !== accountId) throw notFound("Relay");
    return r;
  }

  private info(r: Running): RelayJson {
    return { ...relayInfo(r.relay), status: this.statusOf(r) };
  }

  private statusOf(r: Running): RelayStatusJson {
    const c = r.client;
    r.counters.queued = r.queue.length;
    return {
      state: c ? c.state : "stopped",
      connected: c?.state === "connected",
      connected_at: c?.connectedAt?.toISOString() ?? null,
      last_error: c?.lastError ?? null,
      last_error_at: c?.lastErrorAt?.toISOString() ?? null,
      counters: { ...r.counters },
    };
  }

  /** Tells the relay's status live (only state changes and errors: never per message). */
  private tell(r: Running): void {
    this.deps.statusChanged?.(r.relay.accountId, { relay: r.relay.id, status: this.statusOf(r) });
  }

  private applySecrets(relay: Relay, secrets: { password?: string | null; key?: string | null }): void {
    for (const field of ["password", "key"] as const) {
      const v = secrets[field];
      if (v === undefined) continue;
      if (v === null) delete relay.secrets[field];
      else relay.secrets[field] = this.deps.secrets.encrypt(v, `${relay.id}/${field}`);
    }
  }

  /**
   * An IP literal the guard refuses is refused here already (400), so the user hears of it at
   * once; a name is judged at connection time only (what it resolves to can change).
   */
  private checkTarget(host: string, port: number): void {
    const refused = this.deps.guard.refusal(host, port);
    if (refused) throw refused;
  }

  private launch(relay: Relay, subscribe: { unsubscribe: string[]; forceSubscribe: boolean }, queue: DownlinkQueue, previous?: Running): void {
    queue.setMax(relay.settings.max_queue);
    queue.rewind();
    const r: Running = previous ?? { relay, client: undefined, queue, counters: zeroCounters(), events: [], seen: new Set(), lastUnmappedEventAt: 0 };
    r.relay = relay;
    r.client = undefined;
    r.counters.queued = queue.length;
    this.running.set(relay.id, r);
    if (!relay.settings.active) return this.tell(r);
    let password: string | undefined;
    let key: string | undefined;
    try {
      if (relay.secrets.password) password = this.deps.secrets.decrypt(relay.secrets.password, `${relay.id}/password`);
      if (relay.secrets.key) key = this.deps.secrets.decrypt(relay.secrets.key, `${relay.id}/key`);
    } catch (err) {
      // Not started: connecting without the credentials would only fail at the broker.
      this.event(r, "error", (err as Error).message);
      this.deps.logger.error({ relay: relay.id, err: (err as Error).message }, "relay not started");
      return this.tell(r);
    }
    r.client = new RelayClient({
      relayId: relay.id,
      settings: relay.settings,
      password,
      key,
      queue,
      counters: r.counters,
      ...subscribe,
      onMessage: (topic, payload, qos) => this.uplink(r, topic, payload, qos),
      onEvent: (kind, summary, detail) => this.event(r, kind, summary, detail),
      onState: () => this.tell(r),
      logger: this.deps.logger,
      guard: this.deps.guard,
    });
    r.client.start();
  }

  /** External broker → device → pipeline. Resolves when the message is stored or failed for good. */
  private async uplink(r: Running, topic: string, payload: Buffer, qos: 0 | 1 | 2): Promise<void> {
    const { relay } = r;
    const key = keyOf(relay.settings.mapping, topic, payload);
    const deviceId = key === undefined ? undefined : await this.resolver.resolve(relay.accountId, relay.settings.mapping, key);
    if (deviceId === undefined) {
      // Acknowledged anyway: no retry would map it better, and holding it would stall the relay.
      r.counters.unmapped++;
      const now = Date.now();
      if (now - r.lastUnmappedEventAt >= 1000) {
        r.lastUnmappedEventAt = now;
        this.event(r, "unmapped", key === undefined ? `no device key in ${topic}` : `no device for key "${key}" (${topic})`);
      }
      return;
    }
    if (!r.seen.has(deviceId)) {
      if (r.seen.size >= SEEN_DEVICES_KEPT) r.seen.delete(r.seen.values().next().value!);
      r.seen.add(deviceId);
    }
    if (relay.settings.forward_to_broker) this.deps.route(relay.accountId, { topic, payload, qos, retain: false });
    try {
      await this.deps.ingest({ accountId: relay.accountId, id: deviceId }, topic, payload, { relay: relay.settings.name, qos });
    } catch (err) {
      // The pipeline showed the error on the device's inspector. A message its parser or
      // validation refused would be refused again: it is acknowledged. Any other failure (the
      // store, the plan's rate, the device not loadable) may pass later: no ack, so it comes back.
      r.counters.failed++;
      if ((err as { reasonCode?: unknown }).reasonCode !== RC.PAYLOAD_FORMAT_INVALID) throw err;
    }
  }

  /**
   * A relay event: kept in the relay's list, and connection changes shown in the inspector of
   * the devices it serves (a fixed device, or those it delivered for lately).
   */
  private event(r: Running, kind: RelayEvent["kind"], summary: string, detail?: Record<string, unknown>): void {
    r.events.push({ time: new Date().toISOString(), kind, summary });
    if (r.events.length > EVENTS_KEPT) r.events.shift();
    if (kind === "unmapped") return;
    if (kind === "error") this.tell(r); // last_error changed; connects and disconnects come as state changes
    const { mapping, name } = r.relay.settings;
    const devices = mapping.source === "fixed" ? [mapping.device] : [...r.seen];
    for (const deviceId of devices) {
      if (this.deps.inspector.wants(deviceId)) this.deps.inspector.record(deviceId, kind, `relay ${name}: ${summary}`, { relay: r.relay.id, ...detail });
    }
  }
}
