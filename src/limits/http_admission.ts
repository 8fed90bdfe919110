import type { FastifyRequest } from "fastify";
import { SluiceError } from "../errors.js";
import type { IdentityService } from "../identity/service.js";
import type { InspectorSink } from "../inspector/types.js";
import { LimitExceeded } from "./errors.js";
import { Limits, type HttpClass } from "./limits.js";

/**
 * TagoIO's request classes for rate limits; undefined for requests it does not limit.
 * Classified by the route the router matched (`/device/:id/data`) and the parsed query, never
 * by the raw URL: `/devic%65` or `/%64ata` reach the same handlers as `/device` and `/data`.
 * HEAD runs the GET handler (Fastify adds HEAD routes), so it counts as GET.
 */
export function httpRequestClass(method: string, route: string | undefined, query: unknown): HttpClass | undefined {
  const verb = method === "HEAD" ? "GET" : method;
  if (route === "/device" && verb === "POST") return "deviceCreates";
  // A widget's data is the data API through a dashboard: the same classes (a downsample counts as data).
  if (route === "/data/:dashboard/:widget" || route === "/data/:dashboard/:widget/data") {
    if (verb === "GET" || verb === "POST") return "data";
    return verb === "PUT" || verb === "DELETE" ? "dataEdits" : undefined;
  }
  // A control widget's downlink: a write through a dashboard, like sending it data.
  if (route === "/dashboard/:id/widget/:widget/publish") return verb === "POST" ? "data" : undefined;
  if (route !== "/data" && route !== "/device/:id/data") return undefined;
  if (verb === "GET") return (query as Record<string, unknown> | undefined)?.query === "aggregate" ? "aggregate" : "data";
  if (verb === "POST") return "data";
  if (verb === "PUT" || verb === "DELETE") return "dataEdits";
  return undefined;
}

/**
 * The HTTP server's `admit` hook: request rates by class (429 with Retry-After), the body size
 * (413; answered as the bound the server counts a body without Content-Length against) and, on
 * device creation, the device ceiling (403).
 */
export function httpAdmission(deps: { limits: Limits; identity: IdentityService; inspector: InspectorSink }): (request: FastifyRequest, accountId: string, deviceId?: string) => Promise<number | undefined> {
  return async (request, accountId, deviceId) => {
    try {
      return await admit(deps, request, accountId);
    } catch (err) {
      // A device's own request refused by its plan shows in its inspector, like MQTT refusals.
      if (deviceId !== undefined && err instanceof SluiceError && deps.inspector.wants(deviceId)) {
        const limit = err instanceof LimitExceeded ? err.limit : "maxPayloadBytes";
        deps.inspector.record(deviceId, "error", `${request.method} ${request.url.split("?")[0]} refused: ${err.message}`, { code: "LIMIT_EXCEEDED", limit });
      }
      throw err;
    }
  };
}

async function admit(deps: { limits: Limits; identity: IdentityService }, request: FastifyRequest, accountId: string): Promise<number | undefined> {
  const plan = deps.limits.planOf(accountId);
  const length = Number(request.headers["content-length"] ?? 0);
  if (length > plan.maxPayloadBytes) throw new SluiceError("PLAN_LIMIT", `the body of ${length} bytes is over the plan's ${plan.maxPayloadBytes}`, 413);
  const maxBody = Number.isFinite(plan.maxPayloadBytes) ? plan.maxPayloadBytes : undefined;
  const cls = httpRequestClass(request.method, request.routeOptions.url, request.query);
  if (cls === undefined) return maxBody;
  Limits.enforce(deps.limits.admitHttp(accountId, cls));
  if (cls === "deviceCreates" && Number.isFinite(plan.devices) && (await deps.identity.countDevices(accountId)) >= plan.devices) {
    throw new LimitExceeded("devices", `the plan's ${plan.devices} devices exist already`);
  }
  return maxBody;
}
