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

  /** The device, or undefined when it does not exist in that account or could not be read now. */
  async get(accountId: string, deviceId: string): Promise<DeviceRow | undefined> {
    // Cached by device id alone: an entry another account's lookup filled must not answer here.
    const row = await this.rows.get(deviceId, () => this.identity.getDevice(accountId, deviceId)).catch(() => undefined);
    return row?.accountId === accountId ? row : undefined;
  }
}
