import type { FastifyPluginAsync } from "fastify";
import type { IdentityService, NewDevice } from "../../identity/service.js";
import type { DeviceRow } from "../../store/types.js";
import { accountOf, mintingTokenOf } from "../auth.js";
import type { DeviceJson } from "../api_types.js";
import { ok } from "../envelope.js";
import { applyListQuery, checkFilter, listQuerySchema, type ApiItem, type ListQuery } from "../listing.js";
import { documentRoutes, TAGS } from "../openapi.js";

/**
 * TagoIO's device resource: `POST /device`, `GET /device`, `GET|PUT|DELETE /device/:id`.
 * Sluice keeps name, active and tags in columns; every other TagoIO field it is sent
 * (description, type, visible, connector, network, chunk settings, parser, ...) goes to `extra`
 * untouched and comes back in the device's info.
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
const READ_ONLY = new Set(["id", "profile", "bucket", "created_at", "updated_at", "last_input", "payload_decoder", "rpm"]);

type DeviceBody = { name?: string; active?: boolean; tags?: { key: string; value: string }[] } & Record<string, unknown>;

function toNewDevice(body: DeviceBody): Partial<NewDevice> {
  const { name, active, tags, ...rest } = body;
  const extra = Object.fromEntries(Object.entries(rest).filter(([key]) => !READ_ONLY.has(key)));
  return { name, active, tags, extra };
}

/** DeviceRow → TagoIO's DeviceInfo (`bucket` is the device itself: Sluice has one store per device). */
export function deviceInfo(row: DeviceRow): DeviceJson {
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
    last_input: null,
    rpm: null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** A list item differs from the info in one way: `bucket` is just the id. */
function deviceListItem(row: DeviceRow): ApiItem {
  return { ...deviceInfo(row), bucket: row.id };
}

const STORE_BATCH = 1000;

/**
 * Every device of the account whose name may match. The repository only pages by creation
 * order and narrows by name, while TagoIO orders by any field and filters by tags, so the rest
 * happens in memory: fine for the thousands of devices a self-hosted account holds.
 */
async function loadDevices(identity: IdentityService, accountId: string, name: string | undefined): Promise<DeviceRow[]> {
  const rows: DeviceRow[] = [];
  for (let offset = 0; ; offset += STORE_BATCH) {
    const batch = await identity.listDevices(accountId, { limit: STORE_BATCH, offset, name });
    rows.push(...batch);
    if (batch.length < STORE_BATCH) return rows;
  }
}

export function deviceRoutes(deps: { identity: IdentityService }): FastifyPluginAsync {
  const { identity } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.devices.name });
    app.post<{ Body: DeviceBody }>(
      "/device",
      { schema: { body: { type: "object", required: ["name"], properties: deviceProperties } } },
      async (request) => {
        const input = toNewDevice(request.body);
        const { device, token } = await identity.createDevice(accountOf(request), { ...input, name: input.name! }, mintingTokenOf(request));
        return ok({ device_id: device.id, bucket_id: device.id, token });
      },
    );

    app.get<{ Querystring: ListQuery }>(
      "/device",
      { schema: { querystring: listQuerySchema(["name", "visible", "active", "last_input", "created_at", "updated_at"]) } },
      async (request) => {
        // Checked before the name reaches the store's LIKE, not only when items are compared.
        if (request.query.filter) checkFilter(request.query.filter);
        const nameFilter = request.query.filter?.name;
        const rows = await loadDevices(identity, accountOf(request), typeof nameFilter === "string" ? nameFilter : undefined);
        return ok(applyListQuery(rows.map(deviceListItem), request.query, { defaultOrder: "name,asc", alwaysFields: ["id", "name", "tags"] }));
      },
    );

    app.get<{ Params: { id: string } }>("/device/:id", { schema: { params: idParams } }, async (request) =>
      ok(deviceInfo(await identity.getDevice(accountOf(request), request.params.id))),
    );

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
