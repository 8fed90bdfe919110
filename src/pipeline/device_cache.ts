import type { IdentityService } from "../identity/service.js";
import { ReadCache } from "../store/read_cache.js";
import type { DeviceRow } from "../store/types.js";

/**
 * Device rows (tags, parser script, params) for the message path, which cannot afford a
 * store read per message. Entries drop when the identity service says a device changed.
 */
export class DeviceCache {
  private readonly rows: ReadCache<DeviceRow>;

  constructor(private readonly identity: IdentityService, max = 50_000) {
    this.rows = new ReadCache(max);
    identity.on("deviceChanged", ({ deviceId }: { deviceId: string }) => this.rows.delete(deviceId));
  }

  /** The device, or undefined when it does not exist or could not be read now. */
  get(accountId: string, deviceId: string): Promise<DeviceRow | undefined> {
    return this.rows.get(deviceId, () => this.identity.getDevice(accountId, deviceId)).catch(() => undefined);
  }
}
