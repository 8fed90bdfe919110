import { FairReads } from "../../data/fair_reads.js";
import type { FastifyPluginAsync } from "fastify";
import { DEFAULT_MAX_PAGE_BYTES, parseDataQuery } from "../../data/query.js";
import type { BucketStore } from "../../data/types.js";
import type { IdentityService } from "../../identity/service.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";
import { validateEdits } from "../../data/validate.js";
import { DATA_BODY_LIMIT, toApi, type Ingest } from "./data.js";
import { documentRoutes, TAGS } from "../openapi.js";

/**
 * A device's data through an account token (ACCOUNT slot): `POST`, `GET`, `PUT` and `DELETE
 * /device/:id/data`, what `Resources.devices.sendDeviceData` / `getDeviceData` /
 * `editDeviceData` / `deleteDeviceData` call, and so what analyses (with `context.token`) and
 * the console use. They behave as `/data` with a full token of that device: same pipeline
 * (parser, validation, actions), same query options, same answers.
 */
export function accountDataRoutes(deps: { identity: IdentityService; buckets: BucketStore; reads: FairReads; ingest: Ingest; maxSkip?: number; maxPageBytes?: number }): FastifyPluginAsync {
  const { identity, buckets, ingest } = deps;
  // DELETE selects records, it does not send them: no bound in bytes there (as DELETE /data).
  const deleteOptions = { maxSkip: deps.maxSkip };
  const options = { ...deleteOptions, maxPageBytes: deps.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES };
  return async (app) => {
    documentRoutes(app, { tag: TAGS.deviceData.name });
    app.post<{ Params: { id: string } }>("/device/:id/data", { bodyLimit: DATA_BODY_LIMIT }, async (request) => {
      const accountId = accountOf(request);
      const device = await identity.getDevice(accountId, request.params.id);
      const { stored } = await ingest({ accountId, deviceId: device.id, tokenId: "", permission: "full", expiresAt: null }, request.body);
      return ok(`${typeof stored === "number" ? stored : stored.length} Data Added`);
    });
    app.get<{ Params: { id: string } }>("/device/:id/data", async (request, reply) => {
      const device = await identity.getDevice(accountOf(request), request.params.id);
      const query = parseDataQuery(request.query as Record<string, unknown>, new Date(), options);
      return ok(toApi(await deps.reads.run(device.accountId, () => buckets.query(device.id, query)), device.id, query.details, reply));
    });
    app.put<{ Params: { id: string } }>("/device/:id/data", { bodyLimit: DATA_BODY_LIMIT }, async (request) => {
      const device = await identity.getDevice(accountOf(request), request.params.id);
      const changed = await buckets.edit(device.id, validateEdits(request.body));
      return ok(`${changed} item(s) updated`);
    });
    app.delete<{ Params: { id: string } }>("/device/:id/data", async (request) => {
      const device = await identity.getDevice(accountOf(request), request.params.id);
      const query = parseDataQuery(request.query as Record<string, unknown>, new Date(), deleteOptions);
      const removed = await buckets.remove(device.id, query);
      return ok(`${removed} Data Removed`);
    });
  };
}
