import type { IdentityService } from "../identity/service.js";
import type { TagJson } from "../http/api_types.js";

/** What a blueprint needs of a device: which it is, its name, its tags. */
export interface DeviceSummary {
  id: string;
  name: string;
  tags: TagJson[];
}

const PAGE = 1000;
/** Devices kept, all accounts together (~100 bytes each); past it the least recently read accounts go. */
const MAX_CACHED_DEVICES = 200_000;

/**
 * Every device of an account as blueprint dashboards see them (id, name, tags), read once and
 * kept until one of the account's devices is created, edited or deleted. Blueprint slots pick
 * devices by tags, which the device store cannot search; a dashboard viewer (or its live
 * channel) asking again and again reads memory, not the whole device table.
 */
export class AccountDevices {
  private readonly cache = new Map<string, DeviceSummary[]>();
  private cached = 0;
  /** Bumped by every change of the account's devices: a load that started before one is not kept. */
  private readonly versions = new Map<string, number>();

  constructor(private readonly identity: IdentityService) {
    const forget = ({ accountId }: { accountId: string }) => {
      this.versions.set(accountId, (this.versions.get(accountId) ?? 0) + 1);
      this.drop(accountId);
    };
    identity.on("deviceChanged", forget);
    identity.on("deviceCreated", forget);
  }

  async list(accountId: string): Promise<DeviceSummary[]> {
    const hit = this.cache.get(accountId);
    if (hit) {
      // Most recently read last, for eviction.
      this.cache.delete(accountId);
      this.cache.set(accountId, hit);
      return hit;
    }
    const version = this.versions.get(accountId) ?? 0;
    const devices: DeviceSummary[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.identity.listDevices(accountId, { limit: PAGE, offset });
      for (const d of page) devices.push({ id: d.id, name: d.name, tags: d.tags });
      if (page.length < PAGE) break;
    }
    devices.sort((a, b) => a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1));
    if ((this.versions.get(accountId) ?? 0) === version) this.keep(accountId, devices);
    return devices;
  }

  private keep(accountId: string, devices: DeviceSummary[]): void {
    this.drop(accountId);
    this.cache.set(accountId, devices);
    this.cached += devices.length;
    for (const [oldest, list] of this.cache) {
      if (this.cached <= MAX_CACHED_DEVICES || oldest === accountId) break;
      this.cache.delete(oldest);
      this.cached -= list.length;
    }
  }

  private drop(accountId: string): void {
    const list = this.cache.get(accountId);
    if (!list) return;
    this.cache.delete(accountId);
    this.cached -= list.length;
  }
}
