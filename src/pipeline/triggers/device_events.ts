import type { MqttPrincipal } from "../../access/broker_hooks.js";
import type { BrokerHooks, ClientInfo } from "../../mqtt/types.js";
import type { Logger } from "../../observability/logger.js";
import type { DeviceRow } from "../../store/types.js";
import type { Action, DeviceEventTrigger } from "../action_model.js";

export type DeviceEventKind = "mqtt_connect" | "mqtt_disconnect";

export interface DeviceEvent {
  kind: DeviceEventKind;
  reason?: string;
}

export interface DeviceEventDeps {
  actions: { list(accountId: string): Action[] };
  devices: { get(accountId: string, deviceId: string): Promise<DeviceRow | undefined> };
  /** Runs the matched actions (Pipeline.runDeviceEvent). */
  run(device: DeviceRow, matched: readonly Action[], event: DeviceEvent): Promise<void>;
  logger: Logger;
  /** Events waiting or running, all devices together (default 1000); past it they are dropped and counted. */
  maxPending?: number;
}

/** Whether one trigger row selects `device` (by id, or by one of its tags). */
function selects(row: DeviceEventTrigger, device: DeviceRow): boolean {
  if (row.device !== undefined) return row.device === device.id;
  return device.tags.some((t) => t.key === row.tag_key && t.value === row.tag_value);
}

/** The active actions of trigger kind `kind` with a row selecting `device`. */
export function matchDeviceEventActions(actions: readonly Action[], device: DeviceRow, kind: DeviceEventKind): Action[] {
  return actions.filter((a) => a.active && a.type === kind && (a.trigger as DeviceEventTrigger[]).some((row) => selects(row, device)));
}

/**
 * mqtt_connect / mqtt_disconnect actions, run from the broker's observer hooks. The hooks are
 * synchronous and on the connection path, so the work is queued: per device in arrival order
 * (a quick reconnect still runs "disconnect" before the next "connect"), and bounded overall,
 * because a reconnect storm must not queue unbounded work. An account without such actions
 * costs a scan of its action list per connection.
 */
export class DeviceEventTriggers {
  /** The tail of each device's queue. */
  private readonly tails = new Map<string, Promise<void>>();
  private pending = 0;
  private stopped = false;
  /** Events not run because `maxPending` were waiting. */
  dropped = 0;

  constructor(private readonly deps: DeviceEventDeps) {}

  hooks(): Required<Pick<BrokerHooks, "clientConnected" | "clientDisconnected">> {
    return {
      clientConnected: (client) => this.observe(client, { kind: "mqtt_connect" }),
      clientDisconnected: (client, reason) => this.observe(client, { kind: "mqtt_disconnect", reason }),
    };
  }

  /**
   * Stops taking events and waits for the queued ones. Called before the broker stops: its
   * shutdown disconnects every client, and those are not the devices' doing.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.tails.values()]);
  }

  private observe(client: ClientInfo, event: DeviceEvent): void {
    if (this.stopped) return;
    const { accountId, deviceId } = client.principal as unknown as Partial<MqttPrincipal>;
    if (!accountId || !deviceId) return;
    if (!this.deps.actions.list(accountId).some((a) => a.active && a.type === event.kind)) return;
    if (this.pending >= (this.deps.maxPending ?? 1000)) {
      this.dropped++;
      this.deps.logger.warn({ deviceId, event: event.kind }, "too many device events pending: actions not run");
      return;
    }
    this.pending++;
    const tail = (this.tails.get(deviceId) ?? Promise.resolve())
      .then(() => this.handle(accountId, deviceId, event))
      .catch((err) => this.deps.logger.warn({ err, deviceId, event: event.kind }, "device event actions failed"))
      .finally(() => {
        this.pending--;
        if (this.tails.get(deviceId) === tail) this.tails.delete(deviceId);
      });
    this.tails.set(deviceId, tail);
  }

  private async handle(accountId: string, deviceId: string, event: DeviceEvent): Promise<void> {
    const device = await this.deps.devices.get(accountId, deviceId);
    if (!device) return;
    const matched = matchDeviceEventActions(this.deps.actions.list(accountId), device, event.kind);
    if (matched.length > 0) await this.deps.run(device, matched, event);
  }
}
