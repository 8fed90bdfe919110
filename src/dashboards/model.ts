/**
 * Dashboards and widgets: their shape (TagoIO's DashboardInfo and WidgetInfo, as
 * `@tago-io/sdk` sends them) and its validation.
 *
 * Every field Sluice reads is checked and refused with the path of the field
 * (`body.widgets[2].data[0].origin must be ...`, errors.ts `InvalidField`); the TagoIO fields it
 * only stores (icon, background, theme, setup, a widget's `display`...) are kept as sent, as
 * plain JSON (no `__proto__` key, at most MAX_JSON_DEPTH levels), within the configured bytes.
 * Read-only fields a client echoes back from an info (id, dates, `public_share`) are ignored.
 */
import { InvalidField } from "../errors.js";
import { parseQueryDate } from "../data/dates.js";
import { MAX_QTY } from "../data/query.js";
import type { ArrangementJson, BlueprintDeviceJson, DashboardJson, DashboardShareJson, TabJson, TagJson, WidgetJson, WidgetSourceJson } from "../http/api_types.js";

export interface DashboardBounds {
  maxWidgetsPerDashboard: number;
  maxWidgetBytes: number;
  maxDashboardBytes: number;
}

export const DASHBOARD_TYPES = ["dashboard", "blueprint"] as const;
export type DashboardType = (typeof DASHBOARD_TYPES)[number];

/** What a dashboard holds, apart from its identity. Stored as one JSON body. */
export interface DashboardFields {
  label: string;
  type: DashboardType;
  visible: boolean;
  tags: TagJson[];
  arrangement: ArrangementJson[];
  tabs: TabJson[];
  blueprint_devices: BlueprintDeviceJson[];
  /** Every other TagoIO field, as sent (icon, background, theme, setup, blueprint behaviours...). */
  extra: Record<string, unknown>;
}

export interface Dashboard extends DashboardFields {
  id: string;
  accountId: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface WidgetFields {
  label: string;
  type: string;
  display: unknown;
  data: WidgetSourceJson[];
  resource: unknown[];
  realtime: boolean | null;
  analysis_run: string | null;
  extra: Record<string, unknown>;
}

export interface Widget extends WidgetFields {
  id: string;
  dashboardId: string;
  createdAt: Date;
  updatedAt: Date;
}

// Shape bounds; sizes in bytes are the configured ones (DashboardBounds).
export const LIMITS = {
  labelChars: 200,
  idChars: 64,
  tags: 100,
  tagKeyChars: 100,
  tagValueChars: 1000,
  tabs: 50,
  blueprintDevices: 20,
  conditions: 20,
  sources: 50,
  variablesPerSource: 100,
  variableChars: 100,
  resources: 50,
  /** Coordinates and sizes on the grid. */
  gridMax: 100_000,
};

/** Levels of nesting kept JSON may have (a widget's `display`...). */
export const MAX_JSON_DEPTH = 32;

/** Query kinds a widget data source may name (`GET /data`'s, less those needing more parameters). */
export const SOURCE_QUERIES = [
  "default", "last_item", "last_value", "last_location", "last_insert", "first_item", "first_value", "first_location", "first_insert",
  "min", "max", "count", "avg", "sum",
] as const;

const ID = /^[A-Za-z0-9_.:-]+$/;
const WIDGET_TYPE = /^[A-Za-z0-9_.-]{1,64}$/;

const DASHBOARD_READ_ONLY = new Set(["id", "created_at", "updated_at", "last_access", "public_share", "shared", "profile", "account"]);
const WIDGET_READ_ONLY = new Set(["id", "dashboard", "created_at", "updated_at"]);

// ---- small checkers ---------------------------------------------------------------------------

type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function object(value: unknown, path: string): Obj {
  if (!isObject(value)) throw new InvalidField(path, "must be an object");
  return value;
}

export function array(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new InvalidField(path, "must be an array");
  if (value.length > max) throw new InvalidField(path, `may hold at most ${max} items (got ${value.length})`);
  return value;
}

export function string(value: unknown, path: string, max: number, options: { min?: number; pattern?: RegExp } = {}): string {
  if (typeof value !== "string") throw new InvalidField(path, "must be a string");
  if (value.length < (options.min ?? 0)) throw new InvalidField(path, options.min === 1 ? "must not be empty" : `must hold at least ${options.min} characters`);
  if (value.length > max) throw new InvalidField(path, `may hold at most ${max} characters`);
  if (options.pattern && !options.pattern.test(value)) throw new InvalidField(path, `must match ${options.pattern.source}`);
  return value;
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw new InvalidField(path, "must be true or false");
  return value;
}

function number(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) throw new InvalidField(path, `must be a number from ${min} to ${max}`);
  return value;
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw new InvalidField(path, `must be an integer from ${min} to ${max}`);
  return value;
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== "string" || !allowed.includes(value as T)) throw new InvalidField(path, `must be one of ${allowed.join(", ")}`);
  return value as T;
}

/**
 * Checks that `value` is plain JSON: null, booleans, finite numbers, strings, arrays and objects,
 * at most MAX_JSON_DEPTH levels deep below `path`, without `__proto__` keys. Walks with its own
 * stack, so a hostile body nested a million levels deep costs no recursion.
 */
export function plainJson(value: unknown, path: string): unknown {
  const stack: [unknown, string, number][] = [[value, path, 0]];
  while (stack.length > 0) {
    const [v, at, depth] = stack.pop()!;
    if (v === null || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new InvalidField(at, "must be a finite number");
      continue;
    }
    if (typeof v !== "object") throw new InvalidField(at, "must be JSON");
    if (depth >= MAX_JSON_DEPTH) throw new InvalidField(at, `nests deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${at}[${i}]`, depth + 1]);
    } else {
      for (const key of Object.keys(v)) {
        if (key === "__proto__") throw new InvalidField(`${at}.${key}`, "is not an accepted key");
        stack.push([(v as Obj)[key], `${at}.${key}`, depth + 1]);
      }
    }
  }
  return value;
}

/** Bytes of `value` as JSON, refused past `max`. */
export function withinBytes(value: unknown, path: string, max: number, what: string): number {
  const bytes = Buffer.byteLength(JSON.stringify(value), "utf8");
  if (bytes > max) throw new InvalidField(path, `is ${bytes} bytes as JSON; a ${what} may take at most ${max} (${what === "widget" ? "dashboards.maxWidgetBytes" : "dashboards.maxDashboardBytes"})`);
  return bytes;
}

function tags(value: unknown, path: string): TagJson[] {
  return array(value, path, LIMITS.tags).map((item, i) => {
    const at = `${path}[${i}]`;
    const tag = object(item, at);
    return { key: string(tag.key, `${at}.key`, LIMITS.tagKeyChars), value: string(tag.value, `${at}.value`, LIMITS.tagValueChars) };
  });
}

/** Keys of `input` not in `known` nor read-only, checked as plain JSON. */
function extras(input: Obj, path: string, known: Set<string>, readOnly: Set<string>): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(input)) {
    if (known.has(key) || readOnly.has(key)) continue;
    if (key === "__proto__") throw new InvalidField(`${path}.${key}`, "is not an accepted key");
    out[key] = plainJson(value, `${path}.${key}`);
  }
  return out;
}

// ---- dashboards -------------------------------------------------------------------------------

const DASHBOARD_KNOWN = new Set(["label", "type", "visible", "tags", "arrangement", "tabs", "blueprint_devices"]);

export function defaultDashboardFields(label: string): DashboardFields {
  return { label, type: "dashboard", visible: true, tags: [], arrangement: [], tabs: [], blueprint_devices: [], extra: {} };
}

/**
 * A dashboard body (create: `base` undefined, `label` required; edit: the fields given replace
 * those of `base`, the others stay). `path` names the body in errors (`body`, `body.dashboard`).
 */
export function validateDashboard(input: unknown, path: string, bounds: DashboardBounds, base?: DashboardFields): DashboardFields {
  const body = object(input ?? {}, path);
  const out: DashboardFields = base ? { ...base, extra: { ...base.extra } } : defaultDashboardFields("");
  if (body.label !== undefined || !base) out.label = string(body.label, `${path}.label`, LIMITS.labelChars, { min: 1 });
  if (body.type !== undefined) out.type = oneOf(body.type, `${path}.type`, DASHBOARD_TYPES);
  if (body.visible !== undefined) out.visible = boolean(body.visible, `${path}.visible`);
  if (body.tags !== undefined) out.tags = tags(body.tags, `${path}.tags`);
  if (body.tabs !== undefined) out.tabs = validateTabs(body.tabs, `${path}.tabs`);
  if (body.arrangement !== undefined) out.arrangement = validateArrangement(body.arrangement, `${path}.arrangement`, bounds);
  if (body.blueprint_devices !== undefined) out.blueprint_devices = validateBlueprintDevices(body.blueprint_devices, `${path}.blueprint_devices`);
  const extra = extras(body, path, DASHBOARD_KNOWN, DASHBOARD_READ_ONLY);
  if (extra.blueprint_device_behavior !== undefined) oneOf(extra.blueprint_device_behavior, `${path}.blueprint_device_behavior`, ["more_than_one", "always"]);
  if (extra.blueprint_selector_behavior !== undefined && extra.blueprint_selector_behavior !== null) {
    oneOf(extra.blueprint_selector_behavior, `${path}.blueprint_selector_behavior`, ["open", "closed", "always_open", "always_closed"]);
  }
  if (extra.icon !== undefined && extra.icon !== null) {
    const icon = object(extra.icon, `${path}.icon`);
    if (icon.url !== undefined) string(icon.url, `${path}.icon.url`, 2048);
    if (icon.color !== undefined) string(icon.color, `${path}.icon.color`, 64);
  }
  Object.assign(out.extra, extra);
  // An arrangement item on a tab names one of the tabs (whichever of the two the body changed).
  const tabKeys = new Set(out.tabs.map((t) => t.key));
  out.arrangement.forEach((item, i) => {
    if (item.tab !== undefined && item.tab !== null && !tabKeys.has(item.tab)) {
      throw new InvalidField(`${path}.arrangement[${i}].tab`, `names no tab of the dashboard ("${item.tab}"; its tabs: ${[...tabKeys].join(", ") || "none"})`);
    }
  });
  withinBytes(storedDashboard(out), path, bounds.maxDashboardBytes, "dashboard");
  return out;
}

function validateTabs(value: unknown, path: string): TabJson[] {
  const seen = new Set<string>();
  return array(value, path, LIMITS.tabs).map((item, i) => {
    const at = `${path}[${i}]`;
    const tab = object(item, at);
    const key = string(tab.key, `${at}.key`, LIMITS.idChars, { min: 1, pattern: ID });
    if (seen.has(key)) throw new InvalidField(`${at}.key`, `repeats the key "${key}"`);
    seen.add(key);
    const out: TabJson = { ...extras(tab, at, new Set(["key", "value", "hidden"]), new Set()), key, value: string(tab.value ?? "", `${at}.value`, LIMITS.labelChars) };
    if (tab.hidden !== undefined) out.hidden = boolean(tab.hidden, `${at}.hidden`);
    return out;
  });
}

function validateArrangement(value: unknown, path: string, bounds: DashboardBounds): ArrangementJson[] {
  return array(value, path, bounds.maxWidgetsPerDashboard).map((item, i) => {
    const at = `${path}[${i}]`;
    const place = object(item, at);
    const out: ArrangementJson = {
      ...extras(place, at, new Set(["widget_id", "x", "y", "width", "height", "tab"]), new Set()),
      widget_id: string(place.widget_id, `${at}.widget_id`, LIMITS.idChars, { min: 1, pattern: ID }),
      x: number(place.x ?? 0, `${at}.x`, 0, LIMITS.gridMax),
      y: number(place.y ?? 0, `${at}.y`, 0, LIMITS.gridMax),
      width: number(place.width ?? 1, `${at}.width`, 0, LIMITS.gridMax),
      height: number(place.height ?? 1, `${at}.height`, 0, LIMITS.gridMax),
    };
    if (place.tab !== undefined) out.tab = place.tab === null ? null : string(place.tab, `${at}.tab`, LIMITS.idChars);
    return out;
  });
}

function validateBlueprintDevices(value: unknown, path: string): BlueprintDeviceJson[] {
  const seen = new Set<string>();
  return array(value, path, LIMITS.blueprintDevices).map((item, i) => {
    const at = `${path}[${i}]`;
    const slot = object(item, at);
    const id = string(slot.id, `${at}.id`, LIMITS.idChars, { min: 1, pattern: ID });
    if (seen.has(id)) throw new InvalidField(`${at}.id`, `repeats the id "${id}"`);
    seen.add(id);
    const out: BlueprintDeviceJson = {
      ...extras(slot, at, new Set(["id", "name", "label", "conditions"]), new Set()),
      id,
      name: string(slot.name ?? id, `${at}.name`, LIMITS.labelChars),
      conditions: array(slot.conditions ?? [], `${at}.conditions`, LIMITS.conditions).map((c, j) => {
        const cat = `${at}.conditions[${j}]`;
        const condition = object(c, cat);
        return { key: string(condition.key, `${cat}.key`, LIMITS.tagKeyChars, { min: 1 }), value: string(condition.value, `${cat}.value`, LIMITS.tagValueChars) };
      }),
    };
    if (slot.label !== undefined) out.label = string(slot.label, `${at}.label`, LIMITS.labelChars);
    return out;
  });
}

/** The JSON body a dashboard is stored as. */
export function storedDashboard(fields: DashboardFields): unknown {
  const { label, type, visible, tags, arrangement, tabs, blueprint_devices, extra } = fields;
  return { label, type, visible, tags, arrangement, tabs, blueprint_devices, extra };
}

/** The dashboard as the API shows it. `share`: its public link (undefined: not shown, for the shared view). */
export function dashboardInfo(d: Dashboard, share?: DashboardShareJson | null): DashboardJson {
  return {
    group_by: [],
    icon: { url: "" },
    background: null,
    theme: null,
    setup: null,
    ...d.extra,
    id: d.id,
    label: d.label,
    type: d.type,
    visible: d.visible,
    tags: d.tags,
    arrangement: d.arrangement,
    tabs: d.tabs,
    blueprint_devices: d.blueprint_devices,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
    last_access: null,
    ...(share !== undefined && { public_share: share }),
  };
}

// ---- widgets ----------------------------------------------------------------------------------

const WIDGET_KNOWN = new Set(["label", "type", "display", "data", "resource", "realtime", "analysis_run"]);
const SOURCE_KNOWN = new Set(["origin", "bucket", "variables", "qty", "query", "start_date", "end_date", "timezone"]);

/** A widget body (create: `base` undefined, `label` and `type` required; edit: given fields replace). */
export function validateWidget(input: unknown, path: string, bounds: DashboardBounds, base?: WidgetFields): WidgetFields {
  const body = object(input ?? {}, path);
  const out: WidgetFields = base
    ? { ...base, extra: { ...base.extra } }
    : { label: "", type: "", display: {}, data: [], resource: [], realtime: null, analysis_run: null, extra: {} };
  if (body.label !== undefined || !base) out.label = string(body.label, `${path}.label`, LIMITS.labelChars);
  if (body.type !== undefined || !base) out.type = string(body.type, `${path}.type`, 64, { min: 1, pattern: WIDGET_TYPE });
  if (body.display !== undefined) out.display = plainJson(body.display, `${path}.display`);
  if (body.data !== undefined) out.data = array(body.data, `${path}.data`, LIMITS.sources).map((s, i) => validateSource(s, `${path}.data[${i}]`));
  if (body.resource !== undefined) out.resource = plainJson(array(body.resource, `${path}.resource`, LIMITS.resources), `${path}.resource`) as unknown[];
  if (body.realtime !== undefined) out.realtime = body.realtime === null ? null : boolean(body.realtime, `${path}.realtime`);
  if (body.analysis_run !== undefined) out.analysis_run = body.analysis_run === null ? null : string(body.analysis_run, `${path}.analysis_run`, LIMITS.idChars, { pattern: ID });
  Object.assign(out.extra, extras(body, path, WIDGET_KNOWN, WIDGET_READ_ONLY));
  withinBytes(storedWidget(out), path, bounds.maxWidgetBytes, "widget");
  return out;
}

function validateSource(value: unknown, path: string): WidgetSourceJson {
  const source = object(value, path);
  const out: WidgetSourceJson = {
    ...extras(source, path, SOURCE_KNOWN, new Set()),
    origin: string(source.origin, `${path}.origin`, LIMITS.idChars, { min: 1, pattern: ID }),
  };
  if (source.bucket !== undefined && source.bucket !== null) out.bucket = string(source.bucket, `${path}.bucket`, LIMITS.idChars);
  if (source.variables !== undefined && source.variables !== null) {
    // TagoIO's type says a string; its widgets send lists. Either is read as a list.
    const list = typeof source.variables === "string" ? [source.variables] : array(source.variables, `${path}.variables`, LIMITS.variablesPerSource);
    out.variables = [...new Set(list.map((v, i) => string(v, `${path}.variables[${i}]`, LIMITS.variableChars, { min: 1 }).trim().toLowerCase()))];
  }
  if (source.qty !== undefined && source.qty !== null) out.qty = integer(source.qty, `${path}.qty`, 1, MAX_QTY);
  if (source.query !== undefined && source.query !== null) out.query = oneOf(source.query, `${path}.query`, SOURCE_QUERIES);
  for (const key of ["start_date", "end_date"] as const) {
    const date = source[key];
    if (date === undefined || date === null) continue;
    if ((typeof date !== "string" && typeof date !== "number") || (typeof date === "string" && date.length > 64) || parseQueryDate(date, new Date()) === undefined) {
      throw new InvalidField(`${path}.${key}`, 'must be a date: ISO 8601, epoch milliseconds, or relative such as "1 day"');
    }
    out[key] = date;
  }
  if (source.timezone !== undefined && source.timezone !== null) out.timezone = string(source.timezone, `${path}.timezone`, 64);
  return out;
}

/** The JSON body a widget is stored as. */
export function storedWidget(fields: WidgetFields): unknown {
  const { label, type, display, data, resource, realtime, analysis_run, extra } = fields;
  return { label, type, display, data, resource, realtime, analysis_run, extra };
}

export function widgetInfo(w: Widget): WidgetJson {
  return {
    ...w.extra,
    id: w.id,
    dashboard: w.dashboardId,
    label: w.label,
    type: w.type,
    display: w.display,
    data: w.data,
    resource: w.resource,
    realtime: w.realtime,
    analysis_run: w.analysis_run,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
  };
}

// ---- blueprints -------------------------------------------------------------------------------

/** Whether a device's tags meet every condition of a blueprint slot (`*` in a value is a wildcard). */
export function fitsSlot(deviceTags: readonly TagJson[], slot: BlueprintDeviceJson, match: (pattern: string, text: string) => boolean): boolean {
  return slot.conditions.every((c) => deviceTags.some((t) => t.key === c.key && match(c.value, t.value)));
}
