/**
 * Charts open fast: when a dashboard's widgets are saved, or the dashboard is opened (its live
 * channel gains a listener), the bucket store is told which device variables its sources read,
 * and summarizes their hours in the background, over each source's own dates when it has
 * absolute ones, else over the last `horizonMs`
 * (`BucketStore.prepareDownsample`). The first chart over a year of a million records then
 * reads hour summaries, not the million records (docs/dashboards.md, "Downsampling").
 *
 * Only sources naming a device are prepared; a blueprint slot's device is known when a viewer
 * picks it, and its first query queues the same work. Bounded by the summary cache's own
 * bounds; repeated saves of one dashboard within `DEBOUNCE_MS` are one preparation.
 */
import type { BucketStore } from "../data/types.js";
import type { EventHub } from "../events/hub.js";
import { LIVE_CHANNEL } from "./live.js";
import type { DashboardChange, DashboardService } from "./service.js";

const DEBOUNCE_MS = 1_000;

export interface ChartWarmerDeps {
  dashboards: DashboardService;
  // The whole store, not a Pick of the optional method: a store without it (PostgreSQL summarizes in SQL) still fits.
  buckets: BucketStore;
  hub: EventHub;
  /** How far back to prepare (a year and a day: a "last year" chart). */
  horizonMs: number;
  /**
   * Whether the device is the account's. Widget sources are not checked when saved (a source
   * naming another account's device reads "Device not found"), so without this a dashboard
   * could have another account's records summarized.
   */
  owns(accountId: string, deviceId: string): Promise<boolean>;
  onError(error: unknown): void;
}

export class ChartWarmer {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly stopWatching: () => void;
  private readonly onChanged = (change: DashboardChange): void => {
    if (!change.deleted) this.queue(change.accountId, change.dashboardId);
  };

  constructor(private readonly deps: ChartWarmerDeps) {
    deps.dashboards.on("changed", this.onChanged);
    this.stopWatching = deps.hub.watch(LIVE_CHANNEL, (accountId, channel, listening) => {
      const dashboardId = channel.slice(LIVE_CHANNEL.length + 1);
      if (listening && dashboardId !== "") this.queue(accountId, dashboardId);
    });
  }

  close(): void {
    this.stopWatching();
    this.deps.dashboards.off("changed", this.onChanged);
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private queue(accountId: string, dashboardId: string): void {
    const key = `${accountId}\n${dashboardId}`;
    if (this.pending.has(key)) return;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      this.prepare(accountId, dashboardId).catch((err: unknown) => this.deps.onError(err));
    }, DEBOUNCE_MS);
    timer.unref();
    this.pending.set(key, timer);
  }

  private async prepare(accountId: string, dashboardId: string): Promise<void> {
    const prepare = this.deps.buckets.prepareDownsample;
    if (!prepare) return;
    let dashboard;
    try {
      dashboard = await this.deps.dashboards.get(accountId, dashboardId);
    } catch {
      return; // deleted meanwhile
    }
    const slots = new Set(dashboard.blueprint_devices.map((slot) => slot.id));
    const now = new Date();
    const lastYear = new Date(now.getTime() - this.deps.horizonMs);
    // Device and range → variables: a source with dates of its own (a chart of 2025) is
    // prepared over those, any other over the last `horizonMs`.
    const wanted = new Map<string, { deviceId: string; from: Date; to: Date; variables: Set<string> }>();
    for (const widget of await this.deps.dashboards.widgets(accountId, dashboardId)) {
      for (const source of widget.data) {
        if (slots.has(source.origin) || !source.variables?.length) continue;
        const from = dateOf(source.start_date) ?? lastYear;
        const to = dateOf(source.end_date) ?? now;
        if (to.getTime() <= from.getTime()) continue;
        const key = `${source.origin}\n${from.getTime()}\n${to.getTime()}`;
        let entry = wanted.get(key);
        if (!entry) wanted.set(key, (entry = { deviceId: source.origin, from, to, variables: new Set() }));
        for (const v of source.variables) entry.variables.add(v);
      }
    }
    const owned = new Map<string, boolean>();
    for (const { deviceId, from, to, variables } of wanted.values()) {
      let mine = owned.get(deviceId);
      if (mine === undefined) owned.set(deviceId, (mine = await this.deps.owns(accountId, deviceId)));
      if (mine) prepare.call(this.deps.buckets, deviceId, [...variables], from, to);
    }
  }
}

/** A source's absolute date (ISO text or epoch ms); relative ones ("1 day") are the viewer's to resolve. */
function dateOf(value: unknown): Date | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  if (typeof value === "string" && !/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
