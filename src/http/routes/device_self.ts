import type { FastifyPluginAsync } from "fastify";
import type { IdentityService } from "../../identity/service.js";
import type { AnalysisInfoJson } from "../api_types.js";
import type { Metrics } from "../../observability/metrics.js";
import { deviceAuth, deviceOf, requestToken } from "../auth.js";
import { ok } from "../envelope.js";
import { deviceInfo } from "./device.js";
import { documentRoutes, SECURITY, TAGS } from "../openapi.js";

export interface SelfInfoDeps {
  identity: IdentityService;
  metrics: Metrics;
  /** The analysis info for an analysis token, or undefined for any other token. */
  analysisInfo?(token: string): Promise<AnalysisInfoJson | undefined>;
}

/**
 * `GET /info`: "who am I" for the token (PUBLIC slot, as it authenticates two kinds of token).
 * A device token gets its device, in the shape the account API gives it; an analysis token
 * gets its analysis, which is what the SDK's `Analysis` asks before listening for triggers.
 * Everything else is refused exactly as on the device routes (the device hook runs here).
 */
export function deviceSelfRoutes(deps: SelfInfoDeps): FastifyPluginAsync {
  const { identity } = deps;
  const authenticateDevice = deviceAuth(identity, deps.metrics);
  return async (app) => {
    documentRoutes(app, { tag: TAGS.deviceApi.name, security: SECURITY.deviceOrAnalysis });
    app.get("/info", async (request, reply) => {
      const token = requestToken(request.headers);
      const analysis = token !== undefined && deps.analysisInfo ? await deps.analysisInfo(token) : undefined;
      if (analysis) return ok(analysis);
      await authenticateDevice.call(app, request, reply);
      const { accountId, deviceId } = deviceOf(request);
      return ok(deviceInfo(await identity.getDevice(accountId, deviceId)));
    });
  };
}
