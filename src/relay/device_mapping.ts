import type { DeviceRow } from "../store/types.js";
import type { DeviceMapping, KeyMatch } from "./relay_model.js";

/** The device lookups a mapping needs (the relay repositories implement them). */
export interface DeviceLookup {
  /** The device whose oldest token carries this serial. */
  deviceBySerial(accountId: string, serial: string): Promise<string | undefined>;
  /** The oldest device with this tag. */
  deviceByTag(accountId: string, key: string, value: string): Promise<string | undefined>;
  deviceById(accountId: string, id: string): Promise<string | undefined>;
  /** The serial of the device's oldest token that has one. */
  serialOf(deviceId: string): Promise<string | undefined>;
}

const MAX_KEY_LENGTH = 256;

/**
 * The key a message names its device by: a topic level (negative index = from the end) or a
 * payload field (dot path into a JSON object; a string or a number). Undefined when absent.
 */
export function keyOf(mapping: DeviceMapping, topic: string, payload: Buffer): string | undefined {
  if (mapping.source === "fixed") return mapping.device;
  if (mapping.source === "topic") {
    const levels = topic.split("/");
    const level = levels[mapping.index < 0 ? levels.length + mapping.index : mapping.index];
    return level === undefined || level === "" || level.length > MAX_KEY_LENGTH ? undefined : level;
  }
  let value: unknown;
  try {
    value = JSON.parse(payload.toString("utf8"));
  } catch {
    return undefined;
  }
  for (const part of mapping.field.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return typeof value === "string" && value !== "" && value.length <= MAX_KEY_LENGTH ? value : undefined;
}

/** How long a key that named no device stays known as such: a device created later is found after it. */
const MISS_TTL_MS = 5_000;
const CACHE_LIMIT = 50_000;

/**
 * Key → device id, per account and mapping, cached: every relayed message needs it, and the
 * store reads (a token's serial, a tag inside a JSON column) are not free. The owner clears it
 * when devices change; misses expire on their own, since creating a token emits no event.
 */
export class DeviceResolver {
  private readonly hits = new Map<string, string>();
  private readonly misses = new Map<string, number>();

  constructor(private readonly lookup: DeviceLookup, private readonly now: () => number = Date.now) {}

  async resolve(accountId: string, mapping: DeviceMapping, key: string): Promise<string | undefined> {
    const match: KeyMatch = mapping.source === "fixed" ? "id" : mapping.match;
    const tagKey = mapping.source !== "fixed" && mapping.match === "tag" ? (mapping.tag_key ?? "") : "";
    const cacheKey = `${accountId}\0${match}\0${tagKey}\0${key}`;
    const hit = this.hits.get(cacheKey);
    if (hit !== undefined) return hit;
    const missedAt = this.misses.get(cacheKey);
    if (missedAt !== undefined && this.now() - missedAt < MISS_TTL_MS) return undefined;
    const found = await (
      match === "serial" ? this.lookup.deviceBySerial(accountId, key)
      : match === "tag" ? this.lookup.deviceByTag(accountId, tagKey, key)
      : this.lookup.deviceById(accountId, key));
    if (this.hits.size + this.misses.size >= CACHE_LIMIT) this.clear();
    if (found === undefined) this.misses.set(cacheKey, this.now());
    else {
      this.misses.delete(cacheKey);
      this.hits.set(cacheKey, found);
    }
    return found;
  }

  clear(): void {
    this.hits.clear();
    this.misses.clear();
  }

  /**
   * The key the external broker knows `device` by under `mapping`, for downlink topics: the
   * reverse of `resolve`. A fixed mapping serves only its device (key: its serial, else its id).
   */
  async keyFor(mapping: DeviceMapping, device: DeviceRow): Promise<string | undefined> {
    if (mapping.source === "fixed") return mapping.device === device.id ? ((await this.lookup.serialOf(device.id)) ?? device.id) : undefined;
    if (mapping.match === "id") return device.id;
    if (mapping.match === "tag") return device.tags.find((t) => t.key === mapping.tag_key)?.value || undefined;
    return this.lookup.serialOf(device.id);
  }
}
