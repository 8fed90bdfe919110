/**
 * A dashboard page holds ONE live subscription (the `dashboard.<id>` channel, or a share link's
 * stream) and hands each event's records to the widgets named in each record's `widgets`. An
 * event that says records were `dropped` asks every widget to load its data again.
 */
import type { DashboardLiveEventJson, DataRecordJson } from "../../../src/http/api_types.js";

type RecordsListener = (records: DataRecordJson[]) => void;

export class LiveFanout {
  private readonly byWidget = new Map<string, Set<RecordsListener>>();
  private readonly resync = new Set<() => void>();

  constructor(private readonly dashboardId: string) {}

  onLive(widgetId: string, listener: RecordsListener): () => void {
    let set = this.byWidget.get(widgetId);
    if (!set) this.byWidget.set(widgetId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.byWidget.delete(widgetId);
    };
  }

  onResync(listener: () => void): () => void {
    this.resync.add(listener);
    return () => this.resync.delete(listener);
  }

  /** An event as the server sent it (checked: the stream is input like any other). */
  deliver(payload: unknown): void {
    const event = payload as Partial<DashboardLiveEventJson> | null;
    if (typeof event !== "object" || event === null || event.dashboard !== this.dashboardId) return;
    const grouped = new Map<string, DataRecordJson[]>();
    for (const record of Array.isArray(event.records) ? event.records : []) {
      if (!record || !Array.isArray(record.widgets)) continue;
      const { widgets, ...plain } = record;
      for (const id of widgets) {
        if (typeof id !== "string" || !this.byWidget.has(id)) continue;
        let list = grouped.get(id);
        if (!list) grouped.set(id, (list = []));
        list.push(plain);
      }
    }
    for (const [id, records] of grouped) for (const listener of this.byWidget.get(id) ?? []) listener(records);
    if (typeof event.dropped === "number" && event.dropped > 0) for (const listener of this.resync) listener();
  }
}
