/**
 * JSON shapes of the public HTTP API, shared by the routes that build them and by the console
 * (console/src/api), which imports this file's types directly: one definition, no copies.
 * Keep this module free of runtime imports so a browser build can read it.
 */
import type { InspectorEventJson } from "../inspector/serialize.js";
import type { InspectorEventKind } from "../inspector/types.js";
import type { ApiDownsampleBucket, ApiRecord } from "../data/api_record.js";

export type { InspectorEventJson, InspectorEventKind };

/** TagoIO's envelopes: the SDK reads `result` when `status` is true, else `message`. */
export type Envelope<T> = { status: true; result: T } | { status: false; message: string; path?: string };

export interface TagJson {
  key: string;
  value: string;
}

/** A device as `GET /device/:id` answers (TagoIO's DeviceInfo; unknown fields kept as sent). */
export interface DeviceJson {
  id: string;
  name: string;
  active: boolean;
  tags: TagJson[];
  profile: string;
  bucket: { id: string; name: string };
  type: string;
  visible: boolean;
  description: string | null;
  connector: string | null;
  network: string | null;
  /** The parser, base64-encoded, or null when the device has none. */
  payload_decoder: string | null;
  last_input: string | null;
  rpm: unknown;
  created_at: string;
  updated_at: string;
  [extra: string]: unknown;
}

/** A user of an account (`GET /account/user`). */
export interface UserJson {
  id: string;
  email: string;
  name: string;
  created_at: string;
  last_login: string | null;
}

/** Who the session cookie signs in (`GET /account/session`). */
export interface SessionJson {
  user: { id: string; email: string; name: string };
  account: { id: string; name: string };
}

/** A notification (`GET /notification`, the `notification` SSE channel): the SDK's NotificationInfo. */
export interface NotificationInfo {
  id: string;
  title: string;
  message: string;
  read: boolean;
  icon: unknown;
  buttons: unknown[];
  buttons_enabled: boolean;
  buttons_autodisable: boolean;
  created_at: string;
}

// ---- dashboards -----------------------------------------------------------------------------
// `/dashboard`, `/dashboard/:id/widget`, `/data/:dashboard/:widget` and `/share/:key/...`
// (docs/dashboards.md). Fields TagoIO defines and Sluice does not interpret (icon, background,
// theme, setup, a widget's display...) are kept as sent and come back as they were.

/** A widget's place on the grid (TagoIO's Arrangement); `tab` is a tab's `key`, null/absent: the first tab. */
export interface ArrangementJson {
  widget_id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  tab?: string | null;
  [extra: string]: unknown;
}

/** A tab of a dashboard: `key` is what arrangement items name, `value` what the tab shows. */
export interface TabJson {
  key: string;
  value: string;
  hidden?: boolean;
  [extra: string]: unknown;
}

/**
 * A device slot of a blueprint dashboard: the viewer picks one device among those whose tags
 * match every condition (`value` may hold `*` wildcards); widgets name the slot's `id` as a
 * data source's `origin`.
 */
export interface BlueprintDeviceJson {
  id: string;
  name: string;
  label?: string;
  conditions: TagJson[];
  [extra: string]: unknown;
}

/** The public link of a dashboard, without its key (shown once, when made). */
export interface DashboardShareJson {
  /** The key's first characters, to tell links apart. */
  prefix: string;
  created_at: string;
  /** "never", or when the link stops working. */
  expire_time: string;
}

/** A dashboard as `GET /dashboard/:id` answers (TagoIO's DashboardInfo). */
export interface DashboardJson {
  id: string;
  label: string;
  type: "dashboard" | "blueprint";
  visible: boolean;
  tags: TagJson[];
  arrangement: ArrangementJson[];
  tabs: TabJson[];
  blueprint_devices: BlueprintDeviceJson[];
  blueprint_device_behavior?: "more_than_one" | "always";
  blueprint_selector_behavior?: "open" | "closed" | "always_open" | "always_closed";
  created_at: string;
  updated_at: string;
  last_access: string | null;
  /** Sluice's: the dashboard's public link, or null. Not in the shared view. */
  public_share?: DashboardShareJson | null;
  [extra: string]: unknown;
}

/**
 * A data source of a widget (TagoIO's WidgetData): `origin` is a device id, or the `id` of a
 * blueprint device slot. What `GET /data/:dashboard/:widget` answers for it follows these
 * fields as `GET /data` would (`query`, `qty`, dates); the request's own `start_date`,
 * `end_date`, `qty` and `buckets` win.
 */
export interface WidgetSourceJson {
  origin: string;
  bucket?: string;
  variables?: string[];
  qty?: number;
  query?: string;
  start_date?: string | number;
  end_date?: string | number;
  timezone?: string;
  [extra: string]: unknown;
}

/** A widget as `GET /dashboard/:id/widget/:widget` answers (TagoIO's WidgetInfo). */
export interface WidgetJson {
  id: string;
  dashboard: string;
  label: string;
  type: string;
  display: unknown;
  data: WidgetSourceJson[];
  resource: unknown[];
  realtime: boolean | null;
  analysis_run: string | null;
  created_at: string;
  updated_at: string;
  [extra: string]: unknown;
}

/**
 * What one data source of a widget answered: records (as `GET /data`), a number (count, avg,
 * sum), aggregate or downsample buckets; `device` is the device actually read (for a blueprint
 * slot, the one picked). `error` instead when the source cannot be read (its device is gone).
 */
export interface WidgetSourceResultJson {
  origin: string;
  device: string | null;
  variables: string[] | null;
  query: string;
  result: unknown;
  error?: string;
}

/** `GET /data/:dashboard/:widget` (and `/share/:key/data/:widget`). */
export interface WidgetDataJson {
  widget: WidgetJson;
  result: WidgetSourceResultJson[];
}

/** A downsample bucket (`query=downsample`, `?buckets=`): `[time, end)`; `value` is the average. */
export type DownsampleBucketJson = ApiDownsampleBucket;

/**
 * An event of the `dashboard.<id>` channel: records just stored that some widget of the
 * dashboard shows; `widgets` on each record names which. `dropped`: records left out of this
 * event because it was full (`dashboards.liveRecordsPerEvent`); reload the widgets' data then.
 */
export interface DashboardLiveEventJson {
  dashboard: string;
  records: (ApiRecordJson & { widgets: string[] })[];
  dropped?: number;
}

/** A record as the data API answers it. */
export type ApiRecordJson = ApiRecord;

/** `GET /share/:key/dashboard`: what a public link shows. */
export interface SharedDashboardJson {
  dashboard: DashboardJson;
  widgets: WidgetJson[];
}

/** Devices a dashboard reads (`GET /dashboard/:id/devices`, `/share/:key/devices`); `blueprint_devices`: the slots it fits. */
export interface DashboardDeviceJson {
  id: string;
  name: string;
  blueprint_devices: string[];
  [extra: string]: unknown;
}

/** `GET /dashboard/:id/share/public` (TagoIO's PublicKeyResponse): the key, shown this once. */
export interface ShareKeyJson {
  token: string;
  expire_time: string;
}

/**
 * A dashboard exported (`GET /dashboard/:id/export`), imported by `POST /dashboard/import`:
 * nothing in it names this server's ids except device ids (`devices` lists those, with their
 * names at export; `device_map` on import replaces them); widgets are named by `ref`, which
 * arrangement items use as `widget_id`.
 */
export interface DashboardExportJson {
  format: "sluice-dashboard";
  version: 1;
  exported_at?: string;
  dashboard: Pick<DashboardJson, "label" | "type" | "visible" | "tags" | "arrangement" | "tabs" | "blueprint_devices" | "blueprint_device_behavior" | "blueprint_selector_behavior"> & {
    [extra: string]: unknown;
  };
  widgets: (Pick<WidgetJson, "label" | "type" | "display" | "data" | "resource" | "realtime" | "analysis_run"> & { ref: string; [extra: string]: unknown })[];
  devices?: { id: string; name: string }[];
}
