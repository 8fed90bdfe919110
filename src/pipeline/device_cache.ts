import type { IdentityService } from "../identity/service.js";
import type { DeviceRow } from "../store/types.js";

/**
 * Device rows (tags, parser script, params) for the message path, which cannot afford a
 * store read per message. Entries drop when the identity service says a device changed.
 */
export class DeviceCache {
  private readonly rows = new Map<string, Promise<DeviceRow | undefined>>();

  constructor(private readonly identity: IdentityService, private readonly max = 50_000) {
    identity.on("deviceChanged", ({ deviceId }: { deviceId: string }) => this.rows.delete(deviceId));
  }

  get(accountId: string, deviceId: string): Promise<DeviceRow | undefined> {
    let row = this.rows.get(deviceId);
    if (!row) {
      row = this.identity.getDevice(accountId, deviceId).catch(() => {
        // A failed read is not remembered: the next message tries again.
        this.rows.delete(deviceId);
        return undefined;
      });
      if (this.rows.size >= this.max) this.rows.delete(this.rows.keys().next().value!);
      this.rows.set(deviceId, row);
    }
    return row;
  }
}
