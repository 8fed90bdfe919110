import { approximateBytes, ReadCache } from "../store/read_cache.js";
import type { DeviceParam, ParamInput, ParamStore } from "./params.js";

/**
 * Device params as every parser run reads them (`device.params`), kept in memory: a store
 * query per message was a visible share of the parsed ingest path. Writes go through this
 * wrapper, which drops the device's entry, so readers never see stale params.
 */
export class CachedParamStore implements ParamStore {
  private readonly byDevice: ReadCache<DeviceParam[]>;

  /** Told after each write (a cluster tells the other nodes to drop their copy, cluster/control.ts). */
  onChanged: ((deviceId: string) => void) | undefined;

  constructor(private readonly inner: ParamStore, options: { max?: number; maxBytes?: number } = {}) {
    this.byDevice = new ReadCache<DeviceParam[]>({ max: options.max ?? 50_000, maxBytes: options.maxBytes ?? 32 * 1024 * 1024, sizeOf: approximateBytes });
  }

  /** Approximate bytes of the params held (config `pipeline.paramCacheBytes`). */
  get bytes(): number {
    return this.byDevice.bytes;
  }

  list(deviceId: string, sent?: boolean): Promise<DeviceParam[]> {
    if (sent !== undefined) return this.inner.list(deviceId, sent);
    return this.byDevice.get(deviceId, () => this.inner.list(deviceId));
  }

  async save(deviceId: string, inputs: ParamInput[]): Promise<DeviceParam[]> {
    try {
      return await this.inner.save(deviceId, inputs);
    } finally {
      // After the write: a read that raced it may have cached what was there before.
      this.forget(deviceId);
      this.onChanged?.(deviceId);
    }
  }

  async markSent(deviceId: string, id: string, sent: boolean): Promise<boolean> {
    try {
      return await this.inner.markSent(deviceId, id, sent);
    } finally {
      // After the write: a read that raced it may have cached what was there before.
      this.forget(deviceId);
      this.onChanged?.(deviceId);
    }
  }

  async remove(deviceId: string, id: string): Promise<boolean> {
    try {
      return await this.inner.remove(deviceId, id);
    } finally {
      // After the write: a read that raced it may have cached what was there before.
      this.forget(deviceId);
      this.onChanged?.(deviceId);
    }
  }

  /** Drops a device's cached params (changed elsewhere: another node of a cluster). */
  forget(deviceId: string): void {
    this.byDevice.delete(deviceId);
  }
}
