import type { MqttPrincipal } from "../access/broker_hooks.js";
import type { BrokerHooks, ClientInfo } from "../mqtt/types.js";
import type { DeviceConnectionEvent } from "../http/api_types.js";

/** Where live device events go (the `/events` hub); `listening` spares building unheard events. */
export interface DeviceEventSink {
  listening(accountId: string, channel: string): boolean;
  publish(accountId: string, channel: string, payload: unknown): void;
}

export const CONNECTION_CHANNEL = "device_connection";

/**
 * Which devices have a live MQTT connection, from the broker's observer hooks: a connection
 * belongs to the device whose token it authenticated with (`principal.deviceId`). A device with
 * several connections (several tokens, or a takeover in progress) stays connected until its
 * last one closes. Each change is published on `device_connection` (every device of the
 * account) and `device_connection.<device id>` as `{ device_id, connected }`.
 */
export class DevicePresence {
  /** device id → its live connections' client records. */
  private readonly live = new Map<string, Set<ClientInfo>>();

  constructor(private readonly sink?: DeviceEventSink) {}

  connected(deviceId: string): boolean {
    return this.live.has(deviceId);
  }

  hooks(): Required<Pick<BrokerHooks, "clientConnected" | "clientDisconnected">> {
    return {
      clientConnected: (client) => {
        const { accountId, deviceId } = client.principal as unknown as Partial<MqttPrincipal>;
        if (!accountId || !deviceId) return;
        let set = this.live.get(deviceId);
        if (!set) this.live.set(deviceId, (set = new Set()));
        set.add(client);
        if (set.size === 1) this.announce(accountId, deviceId, true);
      },
      clientDisconnected: (client) => {
        const { accountId, deviceId } = client.principal as unknown as Partial<MqttPrincipal>;
        if (!accountId || !deviceId) return;
        const set = this.live.get(deviceId);
        if (!set?.delete(client)) return;
        if (set.size > 0) return;
        this.live.delete(deviceId);
        this.announce(accountId, deviceId, false);
      },
    };
  }

  private announce(accountId: string, deviceId: string, connected: boolean): void {
    publishDeviceEvent(this.sink, accountId, CONNECTION_CHANNEL, deviceId, { device_id: deviceId, connected } satisfies DeviceConnectionEvent);
  }
}

/** Publishes on `channel` and `channel.<device id>`, each only when someone listens. */
export function publishDeviceEvent(sink: DeviceEventSink | undefined, accountId: string, channel: string, deviceId: string, payload: unknown): void {
  if (!sink) return;
  if (sink.listening(accountId, channel)) sink.publish(accountId, channel, payload);
  const own = `${channel}.${deviceId}`;
  if (sink.listening(accountId, own)) sink.publish(accountId, own, payload);
}
