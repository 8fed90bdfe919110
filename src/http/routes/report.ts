import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { ReportService } from "../../reports/report_service.js";
import type { StoredFileInfo } from "../../reports/report_store.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";
import { applyListQuery, listQuerySchema, type ListQuery } from "../listing.js";
import { documentRoutes, TAGS } from "../openapi.js";

/** `/report`: reports without code, their runs and files (docs/reports.md) (ACCOUNT slot). */
export function reportRoutes(deps: { reports: ReportService }): FastifyPluginAsync {
  const { reports } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.reports.name });
    app.get<{ Querystring: ListQuery }>(
      "/report",
      { schema: { querystring: listQuerySchema(["name", "type", "active", "created_at", "updated_at"]) } },
      async (request) => ok(applyListQuery(await reports.list(accountOf(request)), request.query, { defaultOrder: "created_at,asc", alwaysFields: ["id"] })),
    );
    app.post<{ Body: unknown }>("/report", async (request) => ok(await reports.create(accountOf(request), request.body ?? {})));
    app.get<{ Params: { id: string } }>("/report/:id", async (request) => ok(await reports.info(accountOf(request), request.params.id)));
    app.put<{ Params: { id: string }; Body: unknown }>("/report/:id", async (request) => {
      await reports.edit(accountOf(request), request.params.id, request.body ?? {});
      return ok("Successfully Updated");
    });
    app.delete<{ Params: { id: string } }>("/report/:id", async (request) => {
      await reports.delete(accountOf(request), request.params.id);
      return ok("Successfully Removed");
    });
    // Runs now and answers when the run is over (the mail sent or not): { status, message, files, mailed_to }.
    app.post<{ Params: { id: string } }>("/report/:id/run", async (request) => ok(await reports.run(accountOf(request), request.params.id)));
    app.get<{ Params: { id: string } }>("/report/:id/file", async (request) => ok(await reports.files(accountOf(request), request.params.id)));
    app.get<{ Params: { id: string; fileId: string } }>("/report/:id/file/:fileId", async (request, reply) => {
      const { info, data } = await reports.file(accountOf(request), request.params.id, request.params.fileId);
      return sendFile(reply, info, data);
    });
  };
}

/**
 * A stored file as a download: always `attachment`, never rendered at the API's origin (where
 * the console lives), with a CSP that forbids everything should a browser render it anyway.
 */
export function sendFile(reply: FastifyReply, info: StoredFileInfo, data: Buffer): FastifyReply {
  const ascii = info.name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return reply
    .type(info.contentType)
    .header("content-disposition", `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(info.name)}`)
    .header("x-content-type-options", "nosniff")
    .header("content-security-policy", "default-src 'none'; sandbox")
    .header("cache-control", "private, no-store")
    .send(data);
}
