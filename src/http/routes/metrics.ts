import type { FastifyPluginAsync } from "fastify";
import type { Metrics } from "../../observability/metrics.js";

/** Prometheus scrape endpoint; unauthenticated, as scrapers expect, and it holds no per-account data. */
export function metricsRoutes(deps: { metrics: Metrics }): FastifyPluginAsync {
  const { registry } = deps.metrics;
  return async (app) => {
    app.get("/metrics", async (_request, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    });
  };
}
