import type { FastifyPluginAsync } from "fastify";
import type { IdentityService } from "../../identity/service.js";
import { deviceOf } from "../auth.js";
import { ok } from "../envelope.js";
import { deviceInfo } from "./device.js";

/** `GET /info`: the device behind the token, in the same shape the account API gives it (DEVICE slot). */
export function deviceSelfRoutes(deps: { identity: IdentityService }): FastifyPluginAsync {
  const { identity } = deps;
  return async (app) => {
    app.get("/info", async (request) => {
      const { accountId, deviceId } = deviceOf(request);
      return ok(deviceInfo(await identity.getDevice(accountId, deviceId)));
    });
  };
}
