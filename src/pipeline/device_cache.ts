import type { IdentityService } from "../identity/service.js";
import { approximateBytes, ReadCache } from "../store/read_cache.js";
import { storeUnavailable } from "../store/unavailable.js";
import type { DeviceRow } from "../store/types.js";

/**
 * Device rows (tags, parser script, params) for the message path, which cannot afford a
 * store read per message. Entries drop when the identity service says a device changed.
 * Bounded in bytes too: a row holds the device's parser script and TagoIO extras, up to a
 * request body each (config `pipeline.deviceCacheBytes`).
 */
export class DeviceCache {
  private readonly rows: ReadCache<DeviceRow>;

  /** Approximate bytes of the rows held. */
  get bytes(): number {
    return this.rows.bytes;
  }

  constructor(private readonly identity: IdentityService, options: { max?: number; maxBytes?: number } = {}) {
    this.rows = new ReadCache<DeviceRow>({ max: options.max ?? 50_000, maxBytes: options.maxBytes ?? 64 * 1024 * 1024, sizeOf: approximateBytes });
    identity.on("deviceChanged", ({ deviceId }: { deviceId: string }) => this.rows.delete(deviceId));
  }

  /** The device, or undefined when it does not exist in that account or could not be read now. */
  async get(accountId: string, deviceId: string): Promise<DeviceRow | undefined> {
    // Cached by device id alone: an entry another account's lookup filled must not answer here.
    const row = await this.rows.get(deviceId, () => this.identity.getDevice(accountId, deviceId)).catch((err: unknown) => {
      // Not found is "no device"; the store out of reach is not, and its caller must say so.
      const down = storeUnavailable(err);
      if (down) throw down;
      return undefined;
    });
    return row?.accountId === accountId ? row : undefined;
  }
}
