import type { FastifyPluginAsync } from "fastify";
import type { BucketStore } from "../../data/types.js";
import type { IdentityService } from "../../identity/service.js";
import type { DataRetentionJson } from "../api_types.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";

const retentionBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    days: { type: ["integer", "null"], minimum: 1 },
    records: { type: ["integer", "null"], minimum: 1 },
  },
} as const;

/**
 * A device's data seen from the account (ACCOUNT slot): `GET /device/:id/data_amount`, and
 * `GET|PUT /device/:id/data_retention` (`{ days, records }`: keep N days and/or N records,
 * `null` = no bound). A new bound applies at once.
 */
export function accountDeviceDataRoutes(deps: { identity: IdentityService; buckets: BucketStore }): FastifyPluginAsync {
  const { identity, buckets } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.deviceData.name });
    app.get<{ Params: { id: string } }>("/device/:id/data_amount", async (request) => {
      const device = await identity.getDevice(accountOf(request), request.params.id);
      return ok(await buckets.count(device.id));
    });
    app.get<{ Params: { id: string } }>("/device/:id/data_retention", async (request) => {
      const device = await identity.getDevice(accountOf(request), request.params.id);
      const retention: DataRetentionJson = await buckets.retention(device.id);
      return ok(retention);
    });
    app.put<{ Params: { id: string }; Body: Partial<DataRetentionJson> }>(
      "/device/:id/data_retention",
      { schema: { body: retentionBody } },
      async (request) => {
        const device = await identity.getDevice(accountOf(request), request.params.id);
        await buckets.setRetention(device.id, request.body);
        const removed = await buckets.applyRetention(device.id);
        return ok(`Retention updated, ${removed} record(s) removed`);
      },
    );
  };
}
