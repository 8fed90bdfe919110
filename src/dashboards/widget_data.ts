/**
 * A widget's data, as TagoIO's `/data/:dashboard/:widget` serves it: the widget's data sources
 * (`data`: `{ origin, variables, qty, query, start_date, end_date }`) say what `GET` returns and
 * where `POST` writes; `PUT` and `DELETE` act on records of the devices they name.
 *
 * A source's `origin` is a device id, or on a blueprint dashboard a slot's id: the device is
 * then the one the request picks (`blueprint_devices[i][origin]=<slot>&blueprint_devices[i][id]=<device>`,
 * as the SDK's getData sends it), which must be the account's and fit the slot's tag
 * conditions; without a pick, the first fitting device by name. Every device must be the
 * account's: a widget naming another account's device reads nothing ("Device not found").
 */
import { toApiRecord } from "../data/api_record.js";
import { DEFAULT_QTY, MAX_QTY, parseDataQuery, type DataQuery } from "../data/query.js";
import type { BucketStore, QueryResult } from "../data/types.js";
import { validateEdits } from "../data/validate.js";
import { invalid, SluiceError } from "../errors.js";
import type { BlueprintDeviceJson, DashboardDeviceJson, WidgetDataJson, WidgetSourceJson, WidgetSourceResultJson } from "../http/api_types.js";
import type { DevicePrincipal, IdentityService } from "../identity/service.js";
import { wildcardMatch } from "../store/wildcard.js";
import type { DeviceRow } from "../store/types.js";
import { toApiBucket, toApiDownsample } from "../data/api_record.js";
import type { AccountDevices, DeviceSummary } from "./devices.js";
import { fitsSlot, widgetInfo, type Dashboard, type Widget } from "./model.js";

export type WidgetIngest = (principal: DevicePrincipal, body: unknown) => Promise<{ stored: number | readonly unknown[] }>;

export interface WidgetDataDeps {
  buckets: BucketStore;
  identity: IdentityService;
  devices: AccountDevices;
  ingest: WidgetIngest;
  maxSkip?: number;
  maxPageBytes?: number;
}

/** What a request reads from the query string (others are ignored). */
type RawQuery = Record<string, unknown>;

/** Most `blueprint_devices` picks one request may carry (a dashboard has at most 20 slots). */
const MAX_PICKS = 20;

const notAllowed = (message: string) => new SluiceError("FORBIDDEN", message, 403);

export class WidgetData {
  constructor(private readonly deps: WidgetDataDeps) {}

  /**
   * `GET`: each source as `GET /data` would answer it for its device. The request's
   * `start_date`/`end_date` (or `overwrite[start_date]`...), `qty`/`skip`/`ordination` (or
   * `page`/`amount`) replace the source's own; `buckets=N` turns every source into
   * `query=downsample` over the dates (docs/dashboards.md, "Downsampling").
   */
  async get(accountId: string, dashboard: Dashboard, widget: Widget, raw: RawQuery, now = new Date()): Promise<{ json: WidgetDataJson; truncated: boolean }> {
    const picks = this.picks(dashboard, raw);
    const overrides = requestOverrides(raw);
    let truncated = false;
    const result: WidgetSourceResultJson[] = [];
    for (const source of widget.data) {
      const query = this.sourceQuery(source, overrides, now);
      const base = { origin: source.origin, variables: source.variables ?? null, query: String(overrides.query ?? source.query ?? "default") };
      let device: DeviceRow | undefined;
      try {
        device = await this.deviceOf(accountId, dashboard, source.origin, picks);
      } catch (err) {
        if (!(err instanceof SluiceError) || err.httpStatus !== 404) throw err;
        result.push({ ...base, device: null, result: [], error: err.message });
        continue;
      }
      if (!device) {
        result.push({ ...base, device: null, result: [], error: "No device fits this blueprint device's conditions" });
        continue;
      }
      const answer = await this.deps.buckets.query(device.id, query);
      if (answer.type === "records" && answer.truncated) truncated = true;
      result.push({ ...base, device: device.id, result: toJson(answer, device.id, query.details) });
    }
    return { json: { widget: widgetInfo(widget), result }, truncated };
  }

  /**
   * `POST`: records for the widget's devices, each naming its device in `origin`: a device the
   * widget reads (or, for a blueprint slot, one that fits it), and a variable of that source
   * when the source lists its variables. They go through the device's pipeline (parser,
   * validation, plan, actions) like `POST /device/:id/data`. Answers one "N Data Added" per device.
   */
  async send(accountId: string, dashboard: Dashboard, widget: Widget, body: unknown, bypassBucket: unknown): Promise<string[]> {
    if (bypassBucket === "true" || bypassBucket === true) throw invalid("bypass_bucket is not supported: records sent through a widget are stored");
    const byDevice = await this.groupByDevice(accountId, dashboard, widget, body, "send", true);
    const answers: string[] = [];
    for (const [deviceId, records] of byDevice) {
      const { stored } = await this.deps.ingest({ accountId, deviceId, tokenId: "", permission: "full", expiresAt: null }, records);
      answers.push(`${typeof stored === "number" ? stored : stored.length} Data Added`);
    }
    return answers;
  }

  /** `PUT .../data`: edits (`{ origin, id, value... }`) of records of the widget's devices. */
  async edit(accountId: string, dashboard: Dashboard, widget: Widget, body: unknown): Promise<string> {
    const byDevice = await this.groupByDevice(accountId, dashboard, widget, body, "edit", false);
    let changed = 0;
    for (const [deviceId, edits] of byDevice) changed += await this.deps.buckets.edit(deviceId, validateEdits(edits));
    return `${changed} item(s) updated`;
  }

  /** `DELETE`: `ids` as TagoIO's pairs `<record id>:<device id>`, of the widget's devices. */
  async remove(accountId: string, dashboard: Dashboard, widget: Widget, ids: unknown): Promise<string> {
    const list = (Array.isArray(ids) ? ids : ids === undefined ? [] : typeof ids === "object" && ids !== null ? Object.values(ids) : [ids]) as unknown[];
    if (list.length === 0) throw invalid('ids is required: pairs "<record id>:<device id>"');
    if (list.length > MAX_QTY) throw invalid(`at most ${MAX_QTY} ids at once`);
    const byDevice = new Map<string, string[]>();
    for (const [i, pair] of list.entries()) {
      if (typeof pair !== "string" || !/^[^:]{1,64}:[^:]{1,64}$/.test(pair)) throw invalid(`ids[${i}] must be "<record id>:<device id>"`);
      const [recordId, deviceId] = pair.split(":") as [string, string];
      let records = byDevice.get(deviceId);
      if (!records) byDevice.set(deviceId, (records = []));
      records.push(recordId);
    }
    const allowed = await this.writableDevices(accountId, dashboard, widget, [...byDevice.keys()]);
    let removed = 0;
    for (const [deviceId, recordIds] of byDevice) {
      if (!allowed.has(deviceId)) throw notAllowed(`device ${deviceId} is not one this widget reads`);
      removed += await this.deps.buckets.remove(deviceId, parseDataQuery({ ids: recordIds, qty: String(Math.min(MAX_QTY, recordIds.length)) }, new Date()));
    }
    return `${removed} Data Removed`;
  }

  /**
   * Devices the dashboard reads: those its widgets name, then, for a blueprint, those fitting
   * each slot (`blueprint_devices`: the slots each fits). Only the account's devices.
   */
  async related(accountId: string, dashboard: Dashboard, widgets: Widget[]): Promise<(DashboardDeviceJson & { row?: DeviceRow })[]> {
    const slots = dashboard.blueprint_devices;
    const slotIds = new Set(slots.map((s) => s.id));
    const out = new Map<string, DashboardDeviceJson & { row?: DeviceRow }>();
    for (const origin of new Set(widgets.flatMap((w) => w.data.map((s) => s.origin)))) {
      if (slotIds.has(origin)) continue;
      const row = await this.ownDevice(accountId, origin);
      if (row) out.set(row.id, { id: row.id, name: row.name, blueprint_devices: [], row });
    }
    if (slots.length > 0) {
      for (const d of await this.deps.devices.list(accountId)) {
        const fits = slots.filter((s) => fitsSlot(d.tags, s, wildcardMatch)).map((s) => s.id);
        if (fits.length === 0) continue;
        const known = out.get(d.id);
        if (known) known.blueprint_devices = fits;
        else out.set(d.id, { id: d.id, name: d.name, blueprint_devices: fits });
      }
    }
    return [...out.values()];
  }

  /**
   * The device a control widget acts on (its MQTT downlink): its first source's device, or for a
   * blueprint slot `pick` (checked: the account's, fitting the slot), else the first fitting
   * device, as the widget's data shows. 400 when the widget reads no device or `pick` is given
   * for a widget that names its device itself.
   */
  async controlTarget(accountId: string, dashboard: Dashboard, widget: Widget, pick: string | undefined): Promise<DeviceRow> {
    const origin = widget.data[0]?.origin;
    if (origin === undefined) throw invalid("this widget reads no device: give it a data source");
    const isSlot = dashboard.blueprint_devices.some((s) => s.id === origin);
    if (!isSlot && pick !== undefined && pick !== origin) throw invalid("device is only for a widget of a blueprint device; this widget names its device");
    const device = await this.deviceOf(accountId, dashboard, origin, new Map(isSlot && pick !== undefined ? [[origin, pick]] : []));
    if (!device) throw invalid("No device fits this blueprint device's conditions");
    return device;
  }

  /** Devices fitting a blueprint slot, by name. */
  async candidates(accountId: string, slot: BlueprintDeviceJson): Promise<DeviceSummary[]> {
    return (await this.deps.devices.list(accountId)).filter((d) => fitsSlot(d.tags, slot, wildcardMatch));
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private sourceQuery(source: WidgetSourceJson, overrides: RawQuery, now: Date): DataQuery {
    const raw: RawQuery = Object.create(null) as RawQuery;
    if (source.variables?.length) raw.variables = source.variables;
    if (source.query !== undefined) raw.query = source.query;
    if (source.qty !== undefined) raw.qty = String(source.qty);
    if (source.start_date !== undefined) raw.start_date = String(source.start_date);
    if (source.end_date !== undefined) raw.end_date = String(source.end_date);
    Object.assign(raw, overrides);
    return parseDataQuery(raw, now, { maxSkip: this.deps.maxSkip, maxPageBytes: this.deps.maxPageBytes });
  }

  /** The `blueprint_devices` picks of a request: slot id → device id. */
  private picks(dashboard: Dashboard, raw: RawQuery): Map<string, string> {
    const picks = new Map<string, string>();
    const given = raw.blueprint_devices;
    if (given === undefined) return picks;
    const list = Array.isArray(given) ? given : typeof given === "object" && given !== null ? Object.values(given) : undefined;
    if (!list) throw invalid("blueprint_devices must be a list of { origin, id }: blueprint_devices[0][origin]=<slot id>&blueprint_devices[0][id]=<device id>");
    if (list.length > MAX_PICKS) throw invalid(`blueprint_devices may pick at most ${MAX_PICKS} devices`);
    const slots = new Set(dashboard.blueprint_devices.map((s) => s.id));
    list.forEach((item, i) => {
      const pick = item as Record<string, unknown> | null;
      if (typeof pick !== "object" || pick === null || typeof pick.origin !== "string" || typeof pick.id !== "string") {
        throw invalid(`blueprint_devices[${i}] must be { origin: <blueprint device id>, id: <device id> }`);
      }
      if (!slots.has(pick.origin)) throw invalid(`blueprint_devices[${i}].origin names no blueprint device of the dashboard ("${pick.origin.slice(0, 64)}")`);
      picks.set(pick.origin, pick.id);
    });
    return picks;
  }

  /**
   * The device a source reads: the origin itself, or for a blueprint slot the picked (checked) or
   * first fitting device (undefined when none fits). 404 when the device is not the account's.
   */
  private async deviceOf(accountId: string, dashboard: Dashboard, origin: string, picks: Map<string, string>): Promise<DeviceRow | undefined> {
    const slot = dashboard.blueprint_devices.find((s) => s.id === origin);
    if (!slot) return this.deps.identity.getDevice(accountId, origin);
    const picked = picks.get(origin);
    if (picked !== undefined) {
      const device = await this.deps.identity.getDevice(accountId, picked);
      if (!fitsSlot(device.tags, slot, wildcardMatch)) throw invalid(`device ${picked} does not fit the blueprint device "${slot.name}" (its tags must match ${JSON.stringify(slot.conditions)})`);
      return device;
    }
    const first = (await this.candidates(accountId, slot))[0];
    return first && this.deps.identity.getDevice(accountId, first.id);
  }

  private async ownDevice(accountId: string, id: string): Promise<DeviceRow | undefined> {
    try {
      return await this.deps.identity.getDevice(accountId, id);
    } catch (err) {
      if (err instanceof SluiceError && err.httpStatus === 404) return undefined;
      throw err;
    }
  }

  /** Of `deviceIds`, those the widget may write to: named by a source, or fitting one of its blueprint slots; all the account's. */
  private async writableDevices(accountId: string, dashboard: Dashboard, widget: Widget, deviceIds: string[]): Promise<Set<string>> {
    const slotsUsed = dashboard.blueprint_devices.filter((s) => widget.data.some((d) => d.origin === s.id));
    const direct = new Set(widget.data.map((d) => d.origin));
    const allowed = new Set<string>();
    for (const id of deviceIds) {
      const row = await this.ownDevice(accountId, id);
      if (!row) continue;
      if (direct.has(id) || slotsUsed.some((s) => fitsSlot(row.tags, s, wildcardMatch))) allowed.add(id);
    }
    return allowed;
  }

  /** Variables a widget may write to a device: undefined = any (a source without a variables list). */
  private variablesFor(dashboard: Dashboard, widget: Widget, device: DeviceRow): Set<string> | undefined {
    const variables = new Set<string>();
    for (const source of widget.data) {
      const slot = dashboard.blueprint_devices.find((s) => s.id === source.origin);
      const reads = slot ? fitsSlot(device.tags, slot, wildcardMatch) : source.origin === device.id;
      if (!reads) continue;
      if (!source.variables?.length) return undefined;
      for (const v of source.variables) variables.add(v);
    }
    return variables;
  }

  /** Items of a send or an edit, by device, each checked against the widget; `origin` and `bucket` removed. */
  private async groupByDevice(accountId: string, dashboard: Dashboard, widget: Widget, body: unknown, doing: "send" | "edit", checkVariables: boolean): Promise<Map<string, Record<string, unknown>[]>> {
    const items = Array.isArray(body) ? body : [body];
    if (items.length === 0) throw invalid(`nothing to ${doing}`);
    if (items.length > MAX_QTY) throw new SluiceError("TOO_MANY_RECORDS", `at most ${MAX_QTY} records at once`, 413);
    const byDevice = new Map<string, Record<string, unknown>[]>();
    items.forEach((item, i) => {
      if (typeof item !== "object" || item === null || Array.isArray(item)) throw invalid(`record ${i}: must be an object with an origin (the device)`);
      // An edit's `variable` (EditDataModel carries one) cannot change a record: it is left out.
      const { origin, bucket: _bucket, ...record } = item as Record<string, unknown>;
      if (doing === "edit") delete record.variable;
      if (typeof origin !== "string" || origin === "") throw invalid(`record ${i}: origin is required: the id of the device to ${doing}`);
      let list = byDevice.get(origin);
      if (!list) byDevice.set(origin, (list = []));
      list.push(record);
    });
    const allowed = await this.writableDevices(accountId, dashboard, widget, [...byDevice.keys()]);
    for (const [deviceId, records] of byDevice) {
      if (!allowed.has(deviceId)) throw notAllowed(`device ${deviceId} is not one this widget reads`);
      if (!checkVariables) continue;
      const variables = this.variablesFor(dashboard, widget, await this.deps.identity.getDevice(accountId, deviceId));
      if (!variables) continue;
      for (const record of records) {
        const variable = typeof record.variable === "string" ? record.variable.toLowerCase() : undefined;
        if (variable !== undefined && !variables.has(variable)) throw notAllowed(`variable "${variable.slice(0, 100)}" is not one this widget shows for device ${deviceId} (${[...variables].join(", ")})`);
      }
    }
    return byDevice;
  }
}

/** The request's replacements for every source's query options. */
function requestOverrides(raw: RawQuery): RawQuery {
  const out: RawQuery = Object.create(null) as RawQuery;
  const overwrite = typeof raw.overwrite === "object" && raw.overwrite !== null && !Array.isArray(raw.overwrite) ? (raw.overwrite as RawQuery) : {};
  for (const key of ["start_date", "end_date"]) {
    const value = raw[key] ?? overwrite[key];
    if (value !== undefined) out[key] = value;
  }
  for (const key of ["qty", "skip", "ordination", "details"]) if (raw[key] !== undefined) out[key] = raw[key];
  // `page`/`amount`, as GetDataModel names them (table widgets).
  if (raw.amount !== undefined && out.qty === undefined) out.qty = raw.amount;
  if (raw.page !== undefined && out.skip === undefined) {
    const page = Number(raw.page);
    const qty = Number(out.qty ?? DEFAULT_QTY);
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(qty)) throw invalid("page must be an integer from 1");
    out.skip = String((page - 1) * qty);
  }
  if (raw.buckets !== undefined) {
    out.query = "downsample";
    out.buckets = raw.buckets;
  }
  return out;
}

function toJson(result: QueryResult, device: string, details: boolean): unknown {
  switch (result.type) {
    case "records":
      return result.records.map((r) => toApiRecord(r, details));
    case "number":
      return result.value ?? [];
    case "buckets":
      return result.buckets.map((b) => toApiBucket(b, device));
    case "series":
      return result.series.map((b) => toApiDownsample(b, device));
  }
}
