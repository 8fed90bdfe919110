import type { FastifyInstance } from "fastify";
import { Counter, Histogram } from "prom-client";
import type { Metrics } from "../observability/metrics.js";

const REQUESTS = "sluice_http_requests_total";
const DURATION = "sluice_http_request_duration_seconds";

/**
 * Counts requests and their latency by route pattern (not raw URL: ids in paths would make the
 * label set unbounded). Registered on the server's own registry; reused if a second HTTP server
 * shares the same Metrics, since a registry refuses duplicate names.
 */
export function instrumentHttp(app: FastifyInstance, metrics: Metrics): void {
  const registry = metrics.registry;
  const requests =
    (registry.getSingleMetric(REQUESTS) as Counter<"method" | "route" | "status"> | undefined) ??
    new Counter({ name: REQUESTS, help: "HTTP requests by route and status", labelNames: ["method", "route", "status"], registers: [registry] });
  const duration =
    (registry.getSingleMetric(DURATION) as Histogram<"method" | "route"> | undefined) ??
    new Histogram({
      name: DURATION,
      help: "HTTP request duration by route",
      labelNames: ["method", "route"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}
