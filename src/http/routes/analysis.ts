import type { FastifyPluginAsync } from "fastify";
import type { AnalysisConsole } from "../../analysis/console.js";
import { analysisInfo, type AnalysisInput } from "../../analysis/model.js";
import type { AnalysisService } from "../../analysis/service.js";
import { runJson } from "../../analysis/run_queue.js";
import type { AnalysisRunAnswerJson, AnalysisScriptJson } from "../api_types.js";
import { SluiceError } from "../../errors.js";
import { accountOf, analysisTokenFor, refuseAnalysisToken, requireCsrfForSessionGet } from "../auth.js";
import { ok } from "../envelope.js";
import { applyListQuery, listQuerySchema, type ListQuery } from "../listing.js";
import { documentRoutes, TAGS } from "../openapi.js";

/** `/analysis`: TagoIO's analysis API as `Resources.analysis` calls it, plus the console and the run list (ACCOUNT slot). */
export function analysisRoutes(deps: { analyses: AnalysisService; console: AnalysisConsole }): FastifyPluginAsync {
  const { analyses } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.analyses.name });
    // The SDK lists at "/analysis/" (trailing slash), which would otherwise be /analysis/:id with an empty id.
    for (const path of ["/analysis", "/analysis/"]) {
      app.get<{ Querystring: ListQuery }>(
        path,
        { schema: { querystring: listQuerySchema(["name", "active", "run_on", "last_run", "created_at", "updated_at"]) } },
        async (request) => {
          const rows = await analyses.list(accountOf(request));
          const infos = rows.map((row) => ({ ...analysisInfo(row), token: analysisTokenFor(request, row.id, row.token) }));
          return ok(applyListQuery(infos, request.query, { defaultOrder: "name,asc", alwaysFields: ["id"] }));
        },
      );
    }
    app.post<{ Body: AnalysisInput }>("/analysis", async (request) => {
      refuseAnalysisToken(request, "create analyses");
      return ok(await analyses.create(accountOf(request), request.body ?? {}));
    });
    // Queued and running runs of the account (a static path: Fastify prefers it to /analysis/:id).
    app.get("/analysis/runs", async (request) => ok(analyses.runs(accountOf(request)).map(runJson)));
    app.get<{ Params: { id: string } }>("/analysis/:id", async (request) => {
      const info = await analyses.info(accountOf(request), request.params.id);
      return ok({ ...info, token: analysisTokenFor(request, request.params.id, String(info.token)) });
    });
    app.put<{ Params: { id: string }; Body: AnalysisInput }>("/analysis/:id", async (request) => {
      await analyses.edit(accountOf(request), request.params.id, request.body ?? {});
      return ok("Successfully Updated");
    });
    app.delete<{ Params: { id: string } }>("/analysis/:id", async (request) => {
      await analyses.delete(accountOf(request), request.params.id);
      return ok("Successfully Removed");
    });
    app.post<{ Params: { id: string }; Body: { scope?: unknown } | undefined }>("/analysis/:id/run", async (request) => {
      const accountId = accountOf(request);
      const result = await analyses.run(accountId, request.params.id, request.body?.scope ?? []);
      const { token } = await analyses.get(accountId, request.params.id);
      const answer: AnalysisRunAnswerJson = {
        analysis_token: analysisTokenFor(request, request.params.id, token),
        ...(result.mode === "sluice" ? { run: runJson(result.run) } : { delivered: result.delivered }),
      };
      return ok(answer);
    });
    // One analysis's runs in the queue, running first (what its page shows; live on `analysis_run.<id>`).
    app.get<{ Params: { id: string } }>("/analysis/:id/runs", async (request) => {
      const accountId = accountOf(request);
      await analyses.get(accountId, request.params.id);
      return ok(analyses.runs(accountId).filter((run) => run.analysisId === request.params.id).map(runJson));
    });
    // The SDK's downloadScript. TagoIO answers a short-lived storage URL; the script itself, as
    // a data: URL, serves the same callers without a second route or a signed link.
    app.get<{ Params: { id: string }; Querystring: { version?: number } }>(
      "/analysis/:id/download",
      { schema: { querystring: { type: "object", properties: { version: { type: "integer", minimum: 1 } } } } },
      async (request) => {
        const script = await analyses.script(accountOf(request), request.params.id);
        const wanted = request.query.version;
        if (wanted !== undefined && wanted !== script.version) {
          throw new SluiceError("NOT_FOUND", `only the current version of the script (${script.version}) is kept`, 404);
        }
        const answer: AnalysisScriptJson = {
          url: `data:text/javascript;base64,${script.code.toString("base64")}`,
          size: script.code.length,
          size_unit: "B",
          expire_at: null,
          file_name: script.fileName,
          version: script.version,
        };
        return ok(answer);
      },
    );
    app.get<{ Params: { id: string } }>("/analysis/:id/token", async (request) => {
      refuseAnalysisToken(request, "regenerate analysis tokens");
      requireCsrfForSessionGet(request);
      return ok({ analysis_token: await analyses.regenerateToken(accountOf(request), request.params.id) });
    });
    app.post<{ Params: { id: string }; Body: { file?: unknown; file_name?: unknown; language?: unknown } }>(
      "/analysis/:id/upload",
      async (request) => {
        // A script runs with its analysis's token: code uploaded through a leaked token would
        // read every token it is later given, regenerated ones included.
        refuseAnalysisToken(request, "upload scripts");
        await analyses.upload(accountOf(request), request.params.id, request.body ?? {});
        return ok("Successfully Uploaded");
      },
    );
    app.get<{ Params: { id: string } }>("/analysis/:id/logs", async (request) => {
      await analyses.get(accountOf(request), request.params.id);
      return ok(deps.console.list(request.params.id));
    });
    app.delete<{ Params: { id: string } }>("/analysis/:id/logs", async (request) => {
      await analyses.get(accountOf(request), request.params.id);
      deps.console.clear(request.params.id);
      return ok("Successfully Removed");
    });
  };
}
