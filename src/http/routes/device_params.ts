import type { FastifyPluginAsync } from "fastify";
import { validateParamInputs, type ParamStore } from "../../data/params.js";
import { invalid, notFound } from "../../errors.js";
import type { IdentityService } from "../../identity/service.js";
import type { QueryValue } from "../query.js";
import { accountOf, devicePermitted } from "../auth.js";
import type { DeviceParamJson } from "../api_types.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";

/**
 * Configuration params, from both sides:
 * - the device (device token): `GET /device/params` (`sent_status=true|false` narrows),
 *   `PUT /device/params/:id` with `{ sent: true }` once it has applied one (the SDK's
 *   `getParameters` / `setParameterAsRead`). As for data, a `read` token may only GET and a
 *   `write` token only PUT; `full` does both;
 * - the account (account token): `GET /device/:id/params`, `POST` (what the SDK's `paramSet`
 *   sends) or `PUT /device/:id/params` with one param or a list, and
 *   `DELETE /device/:id/params/:paramId`.
 */
const UPDATED = "Params Successfully Updated";

/** The device-token side (DEVICE slot). */
export function deviceParamRoutes(deps: { params: ParamStore }): FastifyPluginAsync {
  const { params } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.deviceParams.name });
    app.get<{ Querystring: Record<string, QueryValue> }>("/device/params", async (request) =>
      ok(await params.list(devicePermitted(request, "read", "read params").deviceId, sentStatus(request.query.sent_status))),
    );

    app.put<{ Params: { id: string }; Body: { sent?: unknown } | undefined }>("/device/params/:id", async (request) => {
      const { deviceId } = devicePermitted(request, "write", "change params");
      const sent = request.body?.sent ?? true;
      if (typeof sent !== "boolean") throw invalid("sent must be a boolean");
      if (!(await params.markSent(deviceId, request.params.id, sent))) throw notFound(`Param ${request.params.id}`);
      return ok(UPDATED);
    });
  };
}

/** The account-token side (ACCOUNT slot). */
export function accountParamRoutes(deps: { identity: IdentityService; params: ParamStore }): FastifyPluginAsync {
  const { identity, params } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.deviceParams.name });
    app.get<{ Params: { id: string }; Querystring: Record<string, QueryValue> }>("/device/:id/params", async (request) => {
      const device = await identity.getDevice(accountOf(request), request.params.id);
      const list: DeviceParamJson[] = await params.list(device.id, sentStatus(request.query.sent_status));
      return ok(list);
    });

    const save = async (request: { params: { id: string }; body: unknown }, accountId: string) => {
      const inputs = validateParamInputs(request.body);
      const device = await identity.getDevice(accountId, request.params.id);
      await params.save(device.id, inputs);
      return ok(UPDATED);
    };
    app.post<{ Params: { id: string } }>("/device/:id/params", (request) => save(request, accountOf(request)));
    app.put<{ Params: { id: string } }>("/device/:id/params", (request) => save(request, accountOf(request)));

    app.delete<{ Params: { id: string; paramId: string } }>("/device/:id/params/:paramId", async (request) => {
      const device = await identity.getDevice(accountOf(request), request.params.id);
      if (!(await params.remove(device.id, request.params.paramId))) throw notFound(`Param ${request.params.paramId}`);
      return ok("Successfully Removed");
    });
  };
}

/** `sent_status`: absent → all, "true" → read ones, "false" → unread ones. */
function sentStatus(raw: QueryValue | undefined): boolean | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw invalid("sent_status must be true or false");
}
