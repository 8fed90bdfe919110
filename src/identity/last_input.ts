import type { DeviceLastInputEvent } from "../http/api_types.js";
import { publishDeviceEvent, type DeviceEventSink } from "./presence.js";

export const LAST_INPUT_CHANNEL = "device_last_input";

export interface LastInputDeps {
  /** Writes the batch (IdentityRepository.setLastInputs): raises, never lowers. */
  write(entries: readonly (readonly [deviceId: string, at: number])[]): Promise<void>;
  sink?: DeviceEventSink;
  onError?(err: unknown): void;
  /** How often the batch is written and announced (default 1000 ms). */
  intervalMs?: number;
}

/**
 * Each device's last input (a message it published, data it or the account posted, a relayed
 * message): noted in memory on the message's path (one map write), written to the devices
 * table in one transaction per tick and announced then on `device_last_input` (and
 * `device_last_input.<device id>`) as `{ device_id, last_input }`. So a device publishing a
 * thousand messages a second costs one row update and one event a second, and readers between
 * two ticks see the pending time through `pending`.
 */
export class LastInputs {
  private batch = new Map<string, { accountId: string; at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: LastInputDeps) {}

  record(accountId: string, deviceId: string, at: number = Date.now()): void {
    if (!deviceId) return;
    const seen = this.batch.get(deviceId);
    if (!seen || seen.at < at) this.batch.set(deviceId, { accountId, at });
  }

  /** A time noted and not yet written, or undefined. */
  pending(deviceId: string): number | undefined {
    return this.batch.get(deviceId)?.at;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.deps.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Writes what is noted; resolves once written (each flush waits for the one before). */
  flush(): Promise<void> {
    const batch = this.batch;
    if (batch.size === 0) return this.flushing;
    this.batch = new Map();
    this.flushing = this.flushing.then(async () => {
      try {
        await this.deps.write([...batch].map(([deviceId, { at }]) => [deviceId, at] as const));
      } catch (err) {
        this.deps.onError?.(err);
      }
      for (const [deviceId, { accountId, at }] of batch) {
        const event: DeviceLastInputEvent = { device_id: deviceId, last_input: new Date(at).toISOString() };
        publishDeviceEvent(this.deps.sink, accountId, LAST_INPUT_CHANNEL, deviceId, event);
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
