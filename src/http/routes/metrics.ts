import type { FastifyPluginAsync } from "fastify";
import type { Metrics } from "../../observability/metrics.js";
import { documentRoutes, TAGS } from "../openapi.js";

/** Prometheus scrape endpoint; unauthenticated, as scrapers expect, and it holds no per-account data. */
export function metricsRoutes(deps: { metrics: Metrics }): FastifyPluginAsync {
  const { registry } = deps.metrics;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.server.name });
    app.get("/metrics", async (_request, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    });
  };
}
