import type { MqttPrincipal } from "../access/broker_hooks.js";
import { SluiceError } from "../errors.js";
import type { BucketStore, NormalizedRecord, RecordInput } from "../data/types.js";
import { validateRecords } from "../data/validate.js";
import type { DevicePrincipal } from "../identity/service.js";
import type { InspectorSink } from "../inspector/types.js";
import { RC } from "../mqtt/reason_codes.js";
import type { PublishedEvent } from "../mqtt/types.js";
import { Limits, type Refusal } from "../limits/limits.js";
import type { Logger } from "../observability/logger.js";
import { httpParserInput, toParserInput } from "../sandbox/parser_input.js";
import { ParserError, type ParserDevice, type ParserSandbox } from "../sandbox/types.js";
import type { DeviceRow } from "../store/types.js";
import { storeUnavailable } from "../store/unavailable.js";
import type { Action } from "./action_model.js";
import type { ActionService } from "./action_service.js";
import type { ActionRegistry, ActionServices } from "./actions/registry.js";
import type { DeviceCache } from "./device_cache.js";
import { decideCondition } from "./triggers/condition.js";
import { matchMqttActions } from "./triggers/mqtt_topic.js";

export interface PipelineDeps {
  actions: ActionService;
  registry: ActionRegistry;
  services: ActionServices;
  devices: DeviceCache;
  buckets: BucketStore;
  sandbox: ParserSandbox;
  inspector: InspectorSink;
  logger: Logger;
  /** A device's params as its parser sees them (`device.params`). */
  paramsOf?(deviceId: string): Promise<ParserDevice["params"]>;
  /** The account's plan on `n` records about to be stored (rate and monthly quota). */
  admitRecords?(accountId: string, n: number): Refusal | undefined;
}

/** Why a message was not stored, with the MQTT 5 reason code its publisher gets. */
export class IngestError extends SluiceError {
  constructor(code: string, message: string, readonly reasonCode: number) {
    super(code, message, 400);
    this.name = "IngestError";
  }
}

const MAX_UNACKNOWLEDGED_PER_DEVICE = 64;

/**
 * A QoS 1/2 message the store could not take because it is out of reach: 0x89 Server busy, which
 * the broker answers by closing the connection without an ack (both MQTT versions), so the
 * client keeps the message and sends it again once it can connect (CONNACK 0x88 until the store
 * is back). A PUBACK 0x80 would tell an MQTT 5 client, but most drop the message then, and MQTT
 * 3.1.1 has no negative ack at all. Any other error keeps its own reason code.
 */
function notTaken(err: unknown): unknown {
  const down = storeUnavailable(err);
  return down ? new IngestError(down.code, down.message, RC.SERVER_BUSY) : err;
}

/**
 * From a published message (or an HTTP POST /data) to stored records: normalize to records,
 * run the device's parser in the sandbox, validate, run the matching actions, store, then
 * evaluate condition actions on what was stored. Every step shows in the live inspector.
 * The broker stays ignorant of all this: it only calls `published` and waits on the promise
 * it gets back for QoS 1/2 messages that an insert action will store.
 */
export class Pipeline {
  private readonly unacknowledged = new Map<string, number>();
  /** QoS 0 messages and wills not processed because their device had too many in the pipeline. */
  busyDrops = 0;

  constructor(private readonly deps: PipelineDeps) {}

  /** The broker's `published` hook. */
  published = (event: PublishedEvent): Promise<void> | undefined => {
    const p = event.client?.principal as MqttPrincipal | undefined;
    if (!p || !p.deviceId) return undefined;
    const { message } = event;
    const { inspector } = this.deps;
    if (this.traced(p.deviceId)) {
      inspector.record(p.deviceId, "message_in", `${event.origin === "will" ? "will " : ""}${message.topic} (QoS ${message.qos}${message.retain ? ", retained" : ""}, ${message.payload.length} B)`, {
        topic: message.topic, qos: message.qos, retain: message.retain, origin: event.origin, payload: message.payload,
      });
    }
    // Only actions with a trigger row on this topic can match; without any, the message is only
    // routed and nothing waits (decided synchronously: this runs for every message).
    const candidates = this.deps.actions.mqttActionsFor(p.accountId, message.topic);
    if (candidates.length === 0) return undefined;
    // Nobody acknowledges QoS 0 messages and wills, so nobody waits: errors end in the inspector.
    if (message.qos === 0 || event.origin === "will") {
      if (!this.admitUnacknowledged(p.deviceId)) return undefined;
      this.fromMqtt(p, message.topic, message.payload, candidates)
        .catch(() => undefined)
        .finally(() => this.releaseUnacknowledged(p.deviceId));
      return undefined;
    }
    return this.fromMqtt(p, message.topic, message.payload, candidates).catch((err: unknown) => {
      throw notTaken(err);
    });
  };

  /**
   * A message an MQTT relay (src/relay) took from an external broker, already mapped to its
   * device: the same steps as a device's own publication (inspector, mqtt_topic actions on the
   * relayed topic, parser, store). Resolves once stored, so the relay can acknowledge then.
   */
  async fromRelay(device: { accountId: string; id: string }, topic: string, payload: Buffer, via: { relay: string; qos: 0 | 1 | 2 }): Promise<void> {
    if (this.traced(device.id)) {
      this.deps.inspector.record(device.id, "message_in", `relay ${via.relay}: ${topic} (QoS ${via.qos}, ${payload.length} B)`, {
        topic, qos: via.qos, origin: "relay", relay: via.relay, payload,
      });
    }
    const candidates = this.deps.actions.mqttActionsFor(device.accountId, topic);
    if (candidates.length === 0) return;
    await this.fromMqtt({ accountId: device.accountId, deviceId: device.id }, topic, payload, candidates);
  }

  private async fromMqtt(p: Pick<MqttPrincipal, "accountId" | "deviceId">, topic: string, payload: Buffer, accountActions: readonly Action[]): Promise<void> {
    const device = await this.deps.devices.get(p.accountId, p.deviceId);
    // Acknowledged means stored: a device that cannot be loaded fails the message, never passes it.
    if (!device) throw new IngestError("DEVICE_UNAVAILABLE", "the device could not be loaded", RC.UNSPECIFIED_ERROR);
    const matched = matchMqttActions(accountActions, device, topic);
    if (matched.length === 0) return;
    try {
      const records = await this.parse(device, toParserInput(topic, payload));
      await this.runActions(matched, device, records, { topic, payload });
    } catch (err) {
      this.report(device.id, err);
      throw err;
    }
  }

  /** `POST /data` from a device: parser, validation, storage, condition actions. */
  async fromHttp(principal: DevicePrincipal, body: unknown): Promise<{ stored: NormalizedRecord[] }> {
    const device = await this.deps.devices.get(principal.accountId, principal.deviceId);
    if (!device) throw new IngestError("NOT_FOUND", "device not found", RC.NOT_AUTHORIZED);
    const input = httpParserInput(body);
    if (this.traced(device.id)) {
      this.deps.inspector.record(device.id, "http_in", `POST /data (${input.length} record${input.length === 1 ? "" : "s"})`, { records: input.slice(0, 5) });
    }
    try {
      const records = await this.parse(device, input);
      Limits.enforce(this.deps.admitRecords?.(device.accountId, records.length));
      await this.deps.buckets.insert(device.id, records);
      await this.stored(device, records);
      return { stored: records };
    } catch (err) {
      this.report(device.id, err);
      throw err;
    }
  }

  /** Parser (when the device has one), then validation. */
  private async parse(device: DeviceRow, input: RecordInput[]): Promise<NormalizedRecord[]> {
    const script = typeof device.extra.parse_function === "string" ? device.extra.parse_function.trim() : "";
    const { inspector } = this.deps;
    const watching = this.traced(device.id);
    let output: unknown = input;
    if (script !== "") {
      if (watching) inspector.record(device.id, "parser_input", `parser input: ${input.length} record(s)`, { payload: input.slice(0, 5) });
      const params = (await this.deps.paramsOf?.(device.id)) ?? [];
      try {
        const result = await this.deps.sandbox.run(script, { payload: input, device: { id: device.id, name: device.name, params, tags: device.tags } });
        if (watching) {
          for (const line of result.logs) inspector.record(device.id, "parser_log", `[${line.level}] ${line.message}`);
          inspector.record(device.id, "parser_output", `parser output in ${result.durationMs.toFixed(1)} ms`, { payload: result.payload });
        }
        output = result.payload;
      } catch (err) {
        if (err instanceof ParserError && inspector.wants(device.id)) for (const line of err.logs) inspector.record(device.id, "parser_log", `[${line.level}] ${line.message}`);
        throw err instanceof ParserError ? new IngestError(err.code, `parser failed (${err.kind}): ${err.message}`, RC.PAYLOAD_FORMAT_INVALID) : err;
      }
    }
    try {
      return validateRecords(output, new Date());
    } catch (err) {
      if (err instanceof SluiceError) throw new IngestError(err.code, err.message, RC.PAYLOAD_FORMAT_INVALID);
      throw err;
    }
  }

  /** Runs the matched actions; storing ones first, so that a failed store fails the whole message. */
  private async runActions(matched: Action[], device: DeviceRow, records: NormalizedRecord[], message?: { topic: string; payload: Buffer }): Promise<void> {
    const { registry, services, inspector } = this.deps;
    const ordered = [...matched].sort((a, b) => Number(registry.get(b.action.type)?.stores) - Number(registry.get(a.action.type)?.stores));
    let stored = false;
    for (const action of ordered) {
      const handler = registry.get(action.action.type);
      // Two storing actions matching one message (by id and by tag, say) store it once.
      if (!handler || (handler.stores && stored)) continue;
      try {
        if (handler.stores) this.admitRecords(device, records);
        const outcome = await handler.run({ action, device, records, message }, services);
        stored ||= handler.stores;
        this.deps.actions.touch(action, {}).catch((err) => this.deps.logger.warn({ err }, "recording an action run failed"));
        if (this.traced(device.id)) inspector.record(device.id, "action", `${action.name}: ${outcome.summary}`, { action: action.id, type: handler.type });
      } catch (err) {
        if (handler.stores) throw err instanceof SluiceError || storeUnavailable(err) ? err : new IngestError("STORE_FAILED", (err as Error).message, RC.UNSPECIFIED_ERROR);
        this.report(device.id, err, action);
      }
    }
    if (stored) {
      await this.stored(device, records);
    }
  }

  /** The plan's say on storing `records` from MQTT: a refusal is a 0x97 for the publisher. */
  private admitRecords(device: DeviceRow, records: NormalizedRecord[]): void {
    const refusal = this.deps.admitRecords?.(device.accountId, records.length);
    if (refusal) throw new IngestError(refusal.retryAfterMs === undefined ? "PLAN_LIMIT" : "RATE_LIMITED", `${refusal.message} (${refusal.limit})`, RC.QUOTA_EXCEEDED);
  }

  /** After records are committed: the inspector hears of it, then condition actions run. */
  private async stored(device: DeviceRow, records: NormalizedRecord[]): Promise<void> {
    if (this.traced(device.id)) {
      this.deps.inspector.record(device.id, "stored", `stored ${records.length} record(s): ${records.slice(0, 3).map((r) => r.variable).join(", ")}${records.length > 3 ? ", ..." : ""}`);
    }
    await this.runConditions(device, records);
  }

  /** Condition actions watching this device's variables, with their lock/unlock state. */
  private async runConditions(device: DeviceRow, records: NormalizedRecord[]): Promise<void> {
    for (const action of this.deps.actions.list(device.accountId)) {
      if (!action.active || action.type !== "condition") continue;
      const decision = decideCondition(action, device.id, records);
      if (decision.lock !== undefined) await this.deps.actions.touch(action, { lock: decision.lock });
      if (!decision.fire) continue;
      const handler = this.deps.registry.get(action.action.type);
      if (!handler) continue;
      try {
        const outcome = await handler.run({ action, device, records }, this.deps.services);
        this.deps.actions.touch(action, {}).catch((err) => this.deps.logger.warn({ err }, "recording an action run failed"));
        if (this.traced(device.id)) this.deps.inspector.record(device.id, "action", `${action.name}: ${outcome.summary}`, { action: action.id });
      } catch (err) {
        this.report(device.id, err, action);
      }
    }
  }

  /** Timer actions (interval, schedule): no device, no records. */
  runTimed(action: Action): Promise<void> {
    return this.runForEvent(action, undefined);
  }

  /** An action triggered by something other than data (a timer, a usage alert): no records. */
  async runForEvent(action: Action, event: { kind: string; reason?: string } | undefined, device?: DeviceRow): Promise<void> {
    const handler = this.deps.registry.get(action.action.type);
    if (!handler) return;
    try {
      const outcome = await handler.run({ action, device, records: [], event }, this.deps.services);
      this.deps.actions.touch(action, {}).catch((err) => this.deps.logger.warn({ err }, "recording an action run failed"));
      if (device && this.traced(device.id)) this.deps.inspector.record(device.id, "action", `${action.name}: ${outcome.summary}`, { action: action.id });
    } catch (err) {
      if (device) this.report(device.id, err, action);
      this.deps.logger.warn({ action: action.id, event: event?.kind, err: (err as Error).message }, "action failed");
    }
  }

  /**
   * Actions a device event selected (mqtt_connect, mqtt_disconnect: triggers/device_events.ts),
   * with no records. Events are as rare as connections, so their runs are kept whenever the
   * device's inspector is on, like its connects, not only while someone watches.
   */
  async runDeviceEvent(device: DeviceRow, matched: readonly Action[], event: { kind: string; reason?: string }): Promise<void> {
    for (const action of matched) {
      const handler = this.deps.registry.get(action.action.type);
      if (!handler) continue;
      try {
        const outcome = await handler.run({ action, device, records: [], event }, this.deps.services);
        this.deps.actions.touch(action, {}).catch((err) => this.deps.logger.warn({ err }, "recording an action run failed"));
        if (this.deps.inspector.wants(device.id)) this.deps.inspector.record(device.id, "action", `${action.name} (${event.kind}): ${outcome.summary}`, { action: action.id, type: handler.type, event: event.kind });
      } catch (err) {
        this.report(device.id, err, action);
      }
    }
  }

  /**
   * QoS 0 work has no ack to slow its sender down, so each device may have only so many such
   * messages in the pipeline; past that they are routed but not processed (counted, shown).
   */
  private admitUnacknowledged(deviceId: string): boolean {
    const n = this.unacknowledged.get(deviceId) ?? 0;
    if (n >= MAX_UNACKNOWLEDGED_PER_DEVICE) {
      this.busyDrops++;
      if (this.deps.inspector.wants(deviceId)) this.deps.inspector.record(deviceId, "error", "pipeline busy: QoS 0 message not processed", { code: "PIPELINE_BUSY" });
      return false;
    }
    this.unacknowledged.set(deviceId, n + 1);
    return true;
  }

  private releaseUnacknowledged(deviceId: string): void {
    const n = (this.unacknowledged.get(deviceId) ?? 1) - 1;
    if (n <= 0) this.unacknowledged.delete(deviceId);
    else this.unacknowledged.set(deviceId, n);
  }

  /** Per-message events are kept only while someone follows the device (see InspectorSink). */
  private traced(deviceId: string): boolean {
    return this.deps.inspector.watching(deviceId) && this.deps.inspector.wants(deviceId);
  }

  private report(deviceId: string, err: unknown, action?: Action): void {
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof SluiceError ? err.code : "INTERNAL";
    this.deps.logger.debug({ deviceId, code, message, action: action?.id }, "pipeline error");
    if (this.deps.inspector.wants(deviceId)) this.deps.inspector.record(deviceId, "error", action ? `${action.name}: ${message}` : message, { code });
  }
}
