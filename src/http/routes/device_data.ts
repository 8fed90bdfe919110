import type { FastifyPluginAsync } from "fastify";
import type { BucketStore } from "../../data/types.js";
import type { IdentityService } from "../../identity/service.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";

/** A device's data seen from the account: `GET /device/:id/data_amount` (ACCOUNT slot). */
export function accountDeviceDataRoutes(deps: { identity: IdentityService; buckets: BucketStore }): FastifyPluginAsync {
  const { identity, buckets } = deps;
  return async (app) => {
    app.get<{ Params: { id: string } }>("/device/:id/data_amount", async (request) => {
      const device = await identity.getDevice(accountOf(request), request.params.id);
      return ok(await buckets.count(device.id));
    });
  };
}
