/**
 * Live dashboards: records just stored, pushed on the `dashboard.<id>` channel of `/events`
 * (and of a public link's `/share/:key/events`) to whoever shows the dashboard.
 *
 * Only dashboards someone listens to are prepared: the event hub tells when a `dashboard.<id>`
 * channel gains its first listener (`EventHub.watch`); the dashboard's widgets are then read
 * once and turned into an index, device → variable → widgets (blueprint slots: every device of
 * the account fitting the slot), re-read when the dashboard or its widgets change, or when the
 * account's devices do. Every committed insert reaches `stored`, which costs one Map size
 * check when no dashboard is listened to, and one Map lookup per insert otherwise.
 *
 * Fan-out is bounded per dashboard: records are batched into at most
 * `dashboards.liveEventsPerSecond` events a second, each carrying at most
 * `dashboards.liveRecordsPerEvent` records (the rest counted in `dropped`); a dashboard's
 * pending records never exceed one event's worth. Each stream then has its own unread-bytes
 * bound (http/sse.ts).
 */
import { toApiRecord } from "../data/api_record.js";
import type { StoredRecord } from "../data/types.js";
import type { EventHub } from "../events/hub.js";
import type { DashboardLiveEventJson } from "../http/api_types.js";
import type { IdentityService } from "../identity/service.js";
import { wildcardMatch } from "../store/wildcard.js";
import type { AccountDevices } from "./devices.js";
import { fitsSlot } from "./model.js";
import type { DashboardChange, DashboardService } from "./service.js";

export const LIVE_CHANNEL = "dashboard";

export interface DashboardLiveDeps {
  hub: EventHub;
  dashboards: DashboardService;
  devices: AccountDevices;
  identity: IdentityService;
  eventsPerSecond: number;
  recordsPerEvent: number;
  onError(error: unknown): void;
}

/** Variable → the widgets showing it; `*`: widgets showing every variable of the device. */
type VariableIndex = Map<string, string[]>;

type LiveRecord = DashboardLiveEventJson["records"][number];

interface Watch {
  accountId: string;
  dashboardId: string;
  channel: string;
  devices: Map<string, VariableIndex>;
  /** Bumped by each re-read: an older read that finishes late is not applied. */
  generation: number;
  pending: LiveRecord[];
  dropped: number;
  lastFlush: number;
  timer: NodeJS.Timeout | undefined;
}

/** Device changes of an account are gathered this long before its dashboards are re-read. */
const DEVICE_CHANGE_DEBOUNCE_MS = 100;

export class DashboardLive {
  private readonly watches = new Map<string, Watch>();
  /** Device id → the listened dashboards whose widgets read it. */
  private readonly byDevice = new Map<string, Set<Watch>>();
  private readonly deviceChanges = new Map<string, NodeJS.Timeout>();
  private readonly minGapMs: number;
  private readonly stopWatching: () => void;
  private readonly onChanged = (change: DashboardChange) => {
    const watch = this.watches.get(key(change.accountId, change.dashboardId));
    if (watch) this.reread(watch);
  };
  private readonly onDevices = ({ accountId }: { accountId: string }) => {
    if (this.deviceChanges.has(accountId) || ![...this.watches.values()].some((w) => w.accountId === accountId)) return;
    const timer = setTimeout(() => {
      this.deviceChanges.delete(accountId);
      for (const watch of this.watches.values()) if (watch.accountId === accountId) this.reread(watch);
    }, DEVICE_CHANGE_DEBOUNCE_MS);
    timer.unref();
    this.deviceChanges.set(accountId, timer);
  };

  constructor(private readonly deps: DashboardLiveDeps) {
    this.minGapMs = 1000 / Math.max(1, deps.eventsPerSecond);
    deps.dashboards.on("changed", this.onChanged);
    deps.identity.on("deviceChanged", this.onDevices);
    deps.identity.on("deviceCreated", this.onDevices);
    this.stopWatching = deps.hub.watch(LIVE_CHANNEL, (accountId, channel, listening) => {
      const dashboardId = channel.slice(LIVE_CHANNEL.length + 1);
      if (dashboardId === "") return;
      if (listening) this.start(accountId, dashboardId, channel);
      else this.stop(accountId, dashboardId);
    });
  }

  /** The bucket store's insert listener (SqliteBucketStore.onInserted): on every committed insert. */
  readonly stored = (deviceId: string, records: StoredRecord[]): void => {
    if (this.byDevice.size === 0) return;
    const watches = this.byDevice.get(deviceId);
    if (!watches) return;
    for (const watch of watches) this.match(watch, deviceId, records);
  };

  /** Dashboards being prepared or watched (for tests and metrics). */
  get watched(): number {
    return this.watches.size;
  }

  close(): void {
    this.stopWatching();
    this.deps.dashboards.off("changed", this.onChanged);
    this.deps.identity.off("deviceChanged", this.onDevices);
    this.deps.identity.off("deviceCreated", this.onDevices);
    for (const timer of this.deviceChanges.values()) clearTimeout(timer);
    for (const watch of this.watches.values()) clearTimeout(watch.timer);
    this.watches.clear();
    this.byDevice.clear();
  }

  private start(accountId: string, dashboardId: string, channel: string): void {
    const k = key(accountId, dashboardId);
    if (this.watches.has(k)) return;
    const watch: Watch = { accountId, dashboardId, channel, devices: new Map(), generation: 0, pending: [], dropped: 0, lastFlush: 0, timer: undefined };
    this.watches.set(k, watch);
    this.reread(watch);
  }

  private stop(accountId: string, dashboardId: string): void {
    const k = key(accountId, dashboardId);
    const watch = this.watches.get(k);
    if (!watch) return;
    this.watches.delete(k);
    clearTimeout(watch.timer);
    this.unindex(watch);
  }

  private reread(watch: Watch): void {
    const generation = ++watch.generation;
    this.resolve(watch).then(
      (devices) => {
        if (generation !== watch.generation || this.watches.get(key(watch.accountId, watch.dashboardId)) !== watch) return;
        this.unindex(watch);
        watch.devices = devices;
        for (const deviceId of devices.keys()) {
          let set = this.byDevice.get(deviceId);
          if (!set) this.byDevice.set(deviceId, (set = new Set()));
          set.add(watch);
        }
      },
      (error: unknown) => this.deps.onError(error),
    );
  }

  /** What the dashboard's widgets read, as device → variable → widgets; only the account's devices. */
  private async resolve(watch: Watch): Promise<Map<string, VariableIndex>> {
    const index = new Map<string, VariableIndex>();
    let dashboard;
    let widgets;
    try {
      dashboard = await this.deps.dashboards.get(watch.accountId, watch.dashboardId);
      widgets = await this.deps.dashboards.widgets(watch.accountId, watch.dashboardId);
    } catch {
      return index; // not (or no longer) a dashboard of the account: nothing to send
    }
    const own = await this.deps.devices.list(watch.accountId);
    const ownIds = new Set(own.map((d) => d.id));
    const slots = new Map(dashboard.blueprint_devices.map((s) => [s.id, s]));
    const add = (deviceId: string, variables: string[] | undefined, widgetId: string) => {
      let byVariable = index.get(deviceId);
      if (!byVariable) index.set(deviceId, (byVariable = new Map()));
      for (const variable of variables?.length ? variables : ["*"]) {
        const list = byVariable.get(variable);
        if (!list) byVariable.set(variable, [widgetId]);
        else if (!list.includes(widgetId)) list.push(widgetId);
      }
    };
    for (const widget of widgets) {
      if (widget.realtime === false) continue;
      for (const source of widget.data) {
        const slot = slots.get(source.origin);
        if (slot) {
          for (const d of own) if (fitsSlot(d.tags, slot, wildcardMatch)) add(d.id, source.variables, widget.id);
        } else if (ownIds.has(source.origin)) {
          add(source.origin, source.variables, widget.id);
        }
      }
    }
    return index;
  }

  private unindex(watch: Watch): void {
    for (const deviceId of watch.devices.keys()) {
      const set = this.byDevice.get(deviceId);
      set?.delete(watch);
      if (set?.size === 0) this.byDevice.delete(deviceId);
    }
  }

  private match(watch: Watch, deviceId: string, records: StoredRecord[]): void {
    const byVariable = watch.devices.get(deviceId);
    if (!byVariable) return;
    const all = byVariable.get("*");
    let added = false;
    for (const record of records) {
      const some = byVariable.get(record.variable);
      const widgets = all && some ? [...new Set([...all, ...some])] : (all ?? some);
      if (!widgets) continue;
      if (watch.pending.length >= this.deps.recordsPerEvent) {
        watch.dropped++;
        continue;
      }
      watch.pending.push({ ...toApiRecord(record), widgets });
      added = true;
    }
    if ((added || watch.dropped > 0) && watch.timer === undefined) {
      const wait = Math.max(0, watch.lastFlush + this.minGapMs - Date.now());
      watch.timer = setTimeout(() => this.flush(watch), wait);
    }
  }

  private flush(watch: Watch): void {
    watch.timer = undefined;
    if (watch.pending.length === 0 && watch.dropped === 0) return;
    const event: DashboardLiveEventJson = { dashboard: watch.dashboardId, records: watch.pending, ...(watch.dropped > 0 && { dropped: watch.dropped }) };
    watch.pending = [];
    watch.dropped = 0;
    watch.lastFlush = Date.now();
    this.deps.hub.publish(watch.accountId, watch.channel, event);
  }
}

function key(accountId: string, dashboardId: string): string {
  return `${accountId}\n${dashboardId}`;
}
