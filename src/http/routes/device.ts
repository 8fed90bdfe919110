import type { FastifyPluginAsync } from "fastify";
import type { IdentityService, NewDevice } from "../../identity/service.js";
import type { DeviceListQuery, DeviceOrder, DeviceRow } from "../../store/types.js";
import { accountOf, mintingTokenOf } from "../auth.js";
import type { DeviceCreatedJson, DeviceJson, DeviceListItemJson } from "../api_types.js";
import { ok } from "../envelope.js";
import { checkFilter, listQuerySchema, matches, selectFields, type ListQuery } from "../listing.js";
import { documentRoutes, TAGS } from "../openapi.js";
import type { QueryValue } from "../query.js";

/**
 * TagoIO's device resource: `POST /device`, `GET /device`, `GET|PUT|DELETE /device/:id`.
 * Sluice keeps name, active and tags in columns; every other TagoIO field it is sent
 * (description, type, visible, connector, network, chunk settings, parser, ...) goes to `extra`
 * untouched and comes back in the device's info. `GET /device` pages in SQL, and both the list
 * and the info add `last_input` and `connected` from live state (docs/devices.md).
 */
const tag = {
  type: "object",
  required: ["key", "value"],
  properties: { key: { type: "string" }, value: { type: "string" } },
} as const;

const deviceProperties = {
  name: { type: "string", minLength: 1 },
  active: { type: "boolean" },
  visible: { type: "boolean" },
  tags: { type: "array", items: tag },
  type: { type: "string", enum: ["legacy", "mutable", "immutable"] },
  description: { type: ["string", "null"] },
  connector: { type: ["string", "null"] },
  network: { type: ["string", "null"] },
  serie_number: { type: "string" },
  connector_parse: { type: "boolean" },
  parse_function: { type: "string" },
  chunk_period: { type: "string", enum: ["day", "week", "month", "quarter"] },
  chunk_retention: { type: "integer", minimum: 0, maximum: 36 },
  configuration_params: {
    type: "array",
    items: {
      type: "object",
      required: ["key", "value"],
      properties: { key: { type: "string" }, value: { type: "string" }, sent: { type: "boolean" } },
    },
  },
} as const;

const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1 } } } as const;

/** What the info shows; clients echoing a fetched device back in an edit must not overwrite these. */
const READ_ONLY = new Set(["id", "profile", "bucket", "created_at", "updated_at", "last_input", "connected", "payload_decoder", "rpm"]);

type DeviceBody = { name?: string; active?: boolean; tags?: { key: string; value: string }[] } & Record<string, unknown>;

function toNewDevice(body: DeviceBody): Partial<NewDevice> {
  const { name, active, tags, ...rest } = body;
  const extra = Object.fromEntries(Object.entries(rest).filter(([key]) => !READ_ONLY.has(key)));
  return { name, active, tags, extra };
}

/** What the info and list add from live state: the connection, and a last input not yet written. */
export interface DeviceLiveState {
  connected(deviceId: string): boolean;
  /** Epoch ms of an input noted and not yet written to the store, if any. */
  pendingLastInput(deviceId: string): number | undefined;
  /**
   * In a cluster: of these devices, those connected on another node (docs/cluster.md, "A
   * device's connected state"). Absent on a single node, where `connected` alone is the truth.
   */
  connectedElsewhere?(deviceIds: readonly string[]): Promise<ReadonlySet<string>>;
}

/** `live`, its `connected` completed for `rows` by the other nodes' answers when there are other nodes. */
async function withOtherNodes(live: DeviceLiveState, rows: readonly DeviceRow[]): Promise<DeviceLiveState> {
  if (!live.connectedElsewhere) return live;
  const unknown = rows.filter((row) => !live.connected(row.id)).map((row) => row.id);
  if (unknown.length === 0) return live;
  const elsewhere = await live.connectedElsewhere(unknown);
  if (elsewhere.size === 0) return live;
  return { connected: (id) => live.connected(id) || elsewhere.has(id), pendingLastInput: (id) => live.pendingLastInput(id) };
}

const NO_LIVE_STATE: DeviceLiveState = { connected: () => false, pendingLastInput: () => undefined };

function lastInputOf(row: DeviceRow, live: DeviceLiveState): string | null {
  const stored = row.lastInput?.getTime();
  const pending = live.pendingLastInput(row.id);
  const at = Math.max(stored ?? -Infinity, pending ?? -Infinity);
  return Number.isFinite(at) ? new Date(at).toISOString() : null;
}

/** DeviceRow → TagoIO's DeviceInfo (`bucket` is the device itself: Sluice has one store per device). */
export function deviceInfo(row: DeviceRow, live: DeviceLiveState = NO_LIVE_STATE): DeviceJson {
  const { parse_function: parser, ...extra } = row.extra;
  return {
    type: "mutable",
    visible: true,
    description: null,
    connector: null,
    network: null,
    ...extra,
    id: row.id,
    name: row.name,
    active: row.active,
    tags: row.tags,
    profile: row.accountId,
    bucket: { id: row.id, name: row.name },
    // TagoIO shows the parser base64-encoded under this name, or null when there is none.
    payload_decoder: typeof parser === "string" && parser !== "" ? Buffer.from(parser).toString("base64") : null,
    last_input: lastInputOf(row, live),
    connected: live.connected(row.id),
    rpm: null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** A list item differs from the info in one way: `bucket` is just the id. */
function deviceListItem(row: DeviceRow, live: DeviceLiveState): DeviceListItemJson {
  return { ...deviceInfo(row, live), bucket: row.id };
}

const ORDERABLE = ["name", "visible", "active", "last_input", "created_at", "updated_at"] as const satisfies readonly DeviceOrder[];
const SCAN_BATCH = 1000;

/**
 * The filter's keys the store matches in SQL (name, id, active, tags of `{ key?, value? }`
 * strings), and the rest, matched here on each item as `matches` does for every list. Only a
 * filter with a rest (a field kept in `extra`, a date, `connected`...) walks the account's
 * devices in batches; the others cost one indexed page.
 */
export function splitDeviceFilter(filter: { [key: string]: QueryValue }): { store: Omit<DeviceListQuery, "limit" | "offset">; rest: { [key: string]: QueryValue } } {
  const store: Omit<DeviceListQuery, "limit" | "offset"> = {};
  const rest: { [key: string]: QueryValue } = {};
  for (const [key, value] of Object.entries(filter)) {
    if ((key === "name" || key === "id" || key === "active") && typeof value === "string") store[key] = value;
    else if (key === "tags" && tagFilters(value)) store.tags = tagFilters(value);
    else rest[key] = value;
  }
  return { store, rest };
}

/** `[{ key, value }, ...]` or one `{ key, value }` (either part optional, strings), else undefined. */
function tagFilters(value: QueryValue): { key?: string; value?: string }[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  const tags: { key?: string; value?: string }[] = [];
  for (const item of list) {
    if (typeof item !== "object" || item === null || Array.isArray(item)) return undefined;
    const tag: { key?: string; value?: string } = {};
    for (const [k, v] of Object.entries(item)) {
      if ((k !== "key" && k !== "value") || typeof v !== "string") return undefined;
      tag[k] = v;
    }
    tags.push(tag);
  }
  return tags;
}

/** One page of the list: from the store alone, or (a filter with a rest) walked in store order. */
async function listPage(identity: IdentityService, accountId: string, query: ListQuery, live: DeviceLiveState): Promise<DeviceListItemJson[]> {
  const { store, rest } = splitDeviceFilter(query.filter ?? {});
  const [field, direction] = (query.orderBy ?? "name,asc").split(",") as [DeviceOrder, string];
  const base = { ...store, order: field, desc: direction === "desc" };
  const offset = (query.page - 1) * query.amount;
  if (Object.keys(rest).length === 0) {
    const rows = await identity.listDevices(accountId, { ...base, limit: query.amount, offset });
    const state = await withOtherNodes(live, rows);
    return rows.map((row) => deviceListItem(row, state));
  }
  const page: DeviceListItemJson[] = [];
  let skip = offset;
  for (let at = 0; ; at += SCAN_BATCH) {
    const rows = await identity.listDevices(accountId, { ...base, limit: SCAN_BATCH, offset: at });
    // Asked before matching: a `connected` filter must see the other nodes' connections too.
    const state = await withOtherNodes(live, rows);
    for (const row of rows) {
      const item = deviceListItem(row, state);
      if (!matches(item, rest)) continue;
      if (skip > 0) skip--;
      else if (page.push(item) === query.amount) return page;
    }
    if (rows.length < SCAN_BATCH) return page;
  }
}

export function deviceRoutes(deps: { identity: IdentityService; deviceState?: DeviceLiveState }): FastifyPluginAsync {
  const { identity } = deps;
  const live = deps.deviceState ?? NO_LIVE_STATE;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.devices.name });
    app.post<{ Body: DeviceBody }>(
      "/device",
      { schema: { body: { type: "object", required: ["name"], properties: deviceProperties } } },
      async (request) => {
        const input = toNewDevice(request.body);
        const { device, token } = await identity.createDevice(accountOf(request), { ...input, name: input.name! }, mintingTokenOf(request));
        return ok({ device_id: device.id, bucket_id: device.id, token } satisfies DeviceCreatedJson);
      },
    );

    app.get<{ Querystring: ListQuery }>(
      "/device",
      { schema: { querystring: listQuerySchema(ORDERABLE) } },
      async (request) => {
        // Checked before any pattern reaches the store, not only when items are compared.
        if (request.query.filter) checkFilter(request.query.filter);
        const page = await listPage(identity, accountOf(request), request.query, live);
        return ok(selectFields(page, request.query.fields, ["id", "name", "tags"]));
      },
    );

    app.get<{ Params: { id: string } }>("/device/:id", { schema: { params: idParams } }, async (request) => {
      const row = await identity.getDevice(accountOf(request), request.params.id);
      return ok(deviceInfo(row, await withOtherNodes(live, [row])));
    });

    app.put<{ Params: { id: string }; Body: DeviceBody }>(
      "/device/:id",
      { schema: { params: idParams, body: { type: "object", properties: deviceProperties } } },
      async (request) => {
        const patch = toNewDevice(request.body ?? {});
        await identity.updateDevice(accountOf(request), request.params.id, patch);
        return ok("Successfully Updated");
      },
    );

    app.delete<{ Params: { id: string } }>("/device/:id", { schema: { params: idParams } }, async (request) => {
      await identity.deleteDevice(accountOf(request), request.params.id);
      return ok("Successfully Removed");
    });
  };
}
