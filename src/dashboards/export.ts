/**
 * Dashboards as self-contained JSON (`GET /dashboard/:id/export`, `POST /dashboard/import`), to
 * keep in git and use as templates (docs/dashboards.md, "Export and import").
 *
 * Nothing in an export names an id of this server except devices: widgets are named by a
 * `ref` of the file's own ("w1", "w2"...), which arrangement items use as `widget_id`; tab keys
 * and blueprint slot ids belong to the dashboard and are kept. Widgets read devices by id (a
 * data source's `origin`): an export lists them in `devices` with the names they had, and an
 * import may replace them with `device_map` ({ "<id in the file>": "<device id here>" }). A
 * blueprint dashboard picks its devices by tags, so it needs no map.
 *
 * An import is checked strictly: an unknown key at the top, a widget `ref` that repeats, an
 * arrangement item naming no widget of the file, and everything a create would refuse, is
 * answered 400 with the path of the field (`body.widgets[1].data[0].origin ...`).
 */
import { InvalidField } from "../errors.js";
import type { DashboardExportJson, WidgetJson } from "../http/api_types.js";
import {
  array, dashboardInfo, isObject, LIMITS, object, string, validateDashboard, validateWidget, widgetInfo,
  type Dashboard, type DashboardBounds, type DashboardFields, type Widget, type WidgetFields,
} from "./model.js";

export const EXPORT_FORMAT = "sluice-dashboard";
export const EXPORT_VERSION = 1;
const ID = /^[A-Za-z0-9_.:-]+$/;
/** Devices an export lists, and entries of a `device_map`. */
const MAX_DEVICES = 1000;

const TOP_KEYS = new Set(["format", "version", "exported_at", "dashboard", "widgets", "devices", "device_map", "label"]);

/** What an import makes: the dashboard's fields, and its widgets in the file's order (arrangement names them by index). */
export interface ImportedDashboard {
  fields: DashboardFields;
  widgets: WidgetFields[];
  /** arrangement[i].widget_id is the ref of widgets[refIndex[i]]. */
  refIndex: number[];
}

export function exportDashboard(d: Dashboard, widgets: Widget[], deviceNames: ReadonlyMap<string, string>): DashboardExportJson {
  const refs = new Map(widgets.map((w, i) => [w.id, `w${i + 1}`]));
  const info = dashboardInfo(d);
  const { id: _id, created_at: _c, updated_at: _u, last_access: _l, public_share: _p, ...dashboard } = info;
  dashboard.arrangement = d.arrangement.filter((a) => refs.has(a.widget_id)).map((a) => ({ ...a, widget_id: refs.get(a.widget_id)! }));
  const slots = new Set(d.blueprint_devices.map((b) => b.id));
  const devices = new Map<string, string>();
  for (const w of widgets) {
    for (const source of w.data) if (!slots.has(source.origin)) devices.set(source.origin, deviceNames.get(source.origin) ?? "");
  }
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported_at: new Date().toISOString(),
    dashboard,
    widgets: widgets.map((w) => {
      const { id: _wid, dashboard: _d, created_at: _wc, updated_at: _wu, ...rest } = widgetInfo(w) as WidgetJson;
      return { ref: refs.get(w.id)!, ...rest };
    }),
    devices: [...devices].map(([id, name]) => ({ id, name })),
  };
}

/** Reads an import body (strictly; see the file's comment). */
export function parseImport(input: unknown, bounds: DashboardBounds): ImportedDashboard {
  const body = object(input, "body");
  for (const key of Object.keys(body)) if (!TOP_KEYS.has(key)) throw new InvalidField(`body.${key}`, `is not part of a dashboard export (expected: ${[...TOP_KEYS].join(", ")})`);
  if (body.format !== EXPORT_FORMAT) throw new InvalidField("body.format", `must be "${EXPORT_FORMAT}"`);
  if (body.version !== EXPORT_VERSION) throw new InvalidField("body.version", `must be ${EXPORT_VERSION} (the only version this Sluice reads)`);
  if (body.exported_at !== undefined) string(body.exported_at, "body.exported_at", 64);
  if (body.devices !== undefined) {
    array(body.devices, "body.devices", MAX_DEVICES).forEach((d, i) => {
      const device = object(d, `body.devices[${i}]`);
      string(device.id, `body.devices[${i}].id`, LIMITS.idChars, { min: 1, pattern: ID });
      if (device.name !== undefined) string(device.name, `body.devices[${i}].name`, LIMITS.labelChars);
    });
  }
  const deviceMap = readDeviceMap(body.device_map);

  const rawWidgets = array(body.widgets ?? [], "body.widgets", bounds.maxWidgetsPerDashboard);
  const refs = new Map<string, number>();
  const widgets = rawWidgets.map((raw, i) => {
    const at = `body.widgets[${i}]`;
    const { ref, ...rest } = object(raw, at);
    const name = string(ref, `${at}.ref`, LIMITS.idChars, { min: 1, pattern: ID });
    if (refs.has(name)) throw new InvalidField(`${at}.ref`, `repeats the ref "${name}"`);
    refs.set(name, i);
    return validateWidget(rest, at, bounds);
  });

  const rawDashboard = object(body.dashboard, "body.dashboard");
  const fields = validateDashboard(body.label === undefined ? rawDashboard : { ...rawDashboard, label: body.label }, "body.dashboard", bounds);
  const refIndex = fields.arrangement.map((item, i) => {
    const index = refs.get(item.widget_id);
    if (index === undefined) throw new InvalidField(`body.dashboard.arrangement[${i}].widget_id`, `names no widget of the file ("${item.widget_id}"; widget refs: ${[...refs.keys()].join(", ") || "none"})`);
    return index;
  });

  if (deviceMap.size > 0) {
    const slots = new Set(fields.blueprint_devices.map((b) => b.id));
    for (const w of widgets) {
      w.data = w.data.map((source) => (slots.has(source.origin) || !deviceMap.has(source.origin) ? source : { ...source, origin: deviceMap.get(source.origin)! }));
    }
  }
  return { fields, widgets, refIndex };
}

function readDeviceMap(value: unknown): Map<string, string> {
  if (value === undefined || value === null) return new Map();
  if (!isObject(value)) throw new InvalidField("body.device_map", 'must be an object: { "<device id in the file>": "<device id here>" }');
  const entries = Object.entries(value);
  if (entries.length > MAX_DEVICES) throw new InvalidField("body.device_map", `may hold at most ${MAX_DEVICES} entries`);
  return new Map(
    entries.map(([from, to]) => {
      if (!ID.test(from) || from.length > LIMITS.idChars) throw new InvalidField(`body.device_map.${from.slice(0, 64)}`, "is not a device id");
      return [from, string(to, `body.device_map.${from}`, LIMITS.idChars, { min: 1, pattern: ID })];
    }),
  );
}
