import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from "fastify";
import type { IdentityService } from "../identity/service.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { accountAuth, accountOf, deviceAuth, deviceOf, type SessionAuthenticator } from "./auth.js";
import { capBody, installBodyCap } from "./body_cap.js";
import { consoleRoutes } from "./console.js";
import { installCors } from "./cors.js";
import { installEnvelope } from "./envelope.js";
import { documentRoutes, installOpenApi, SECURITY } from "./openapi.js";
import { installResponseBudget } from "./response_budget.js";
import { instrumentHttp } from "./http_metrics.js";
import type { Server as SecureServer } from "node:https";
import { clientErrorHandler, frameworkErrors, guardedServerFactory, secureTwinOf, type HttpConnectionBounds, type TlsPair } from "./boundary.js";
import { DEFAULT_QUERY_BOUNDS, queryRefusal, routerQueryParser, type QueryBounds } from "./query.js";
import { redactUrl } from "./redact.js";
import type { MqttListenersJson } from "./api_types.js";
import { deviceRoutes, type DeviceLiveState } from "./routes/device.js";
import { deviceTokenRoutes } from "./routes/device_token.js";
import { metricsRoutes } from "./routes/metrics.js";
import { invalid } from "../errors.js";
import { packageVersion, statusRoutes } from "./routes/status.js";

export interface HttpServerDeps {
  identity: IdentityService;
  metrics: Metrics;
  logger: Logger;
  /** Largest request body accepted, in bytes (`POST /data` alone may carry 200 kB). */
  bodyLimit?: number;
  /** Bounds on query strings (config `http`); past one a request is refused with 400. */
  queryBounds?: QueryBounds;
  /** Caps on open connections and timeouts of the HTTP port (config `http`; boundary.ts). */
  connectionBounds?: HttpConnectionBounds;
  /**
   * With a certificate and key, the same API is also served over HTTPS by a second server
   * (`httpsServerOf`), which the caller listens on its own port.
   */
  tls?: TlsPair;
  /**
   * Sign-in sessions: without a token, account routes accept a signed-in session's cookie as a
   * full account token of its account (http/auth.ts, docs/security.md "Sessions").
   */
  sessions?: SessionAuthenticator;
  /** Bytes of large answers being sent at once (config `http.maxResponseBytesInFlight`; response_budget.ts). */
  maxResponseBytesInFlight?: number;
  /** Devices' live connection and unwritten last input, for `GET /device` and `/device/:id`. */
  deviceState?: DeviceLiveState;
  /** The MQTT listeners' ports, for `GET /status` (known once they listen). */
  mqttListeners?: () => MqttListenersJson | undefined;
  /** Web origins allowed to call the API from a browser, `*` for any (config `http.corsOrigins`; cors.ts). None: no CORS. */
  corsOrigins?: readonly string[];
  /** Where the built console is (tests point elsewhere); default dist/console. */
  consoleDir?: string;
  /** Image sources the console's CSP allows besides itself (config `http.consoleImageSources`). */
  consoleImageSources?: readonly string[];
  /** Who may frame the public share view (config `dashboards.shareFrameAncestors`); default any. */
  shareFrameAncestors?: readonly string[];
  /**
   * Routes of other parts (data, inspector, actions...), registered by the composition root:
   * `account` ones behind the account-token hook, `device` ones behind the device-token hook,
   * `public` ones without (they authenticate themselves, e.g. an SSE stream with `?token=`).
   */
  routes?: { account?: FastifyPluginAsync[]; device?: FastifyPluginAsync[]; public?: FastifyPluginAsync[] };
  /**
   * Admission of an authenticated request by its account (plans: request rates, ceilings);
   * throws to refuse. Runs after authentication, before the body is read. May answer the
   * largest body, in bytes, the request may then carry (counted as it arrives).
   */
  admit?(request: FastifyRequest, accountId: string, deviceId?: string): void | number | Promise<void | number>;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface HttpRoute {
  method: string;
  url: string;
}

const routeLists = new WeakMap<FastifyInstance, HttpRoute[]>();

/**
 * Every route `createHttpServer` registered (HEAD twins included), in order: what a hostile
 * request suite must cover, without a hand-kept list that a new route would silently skip.
 */
export function registeredRoutes(app: FastifyInstance): readonly HttpRoute[] {
  return routeLists.get(app) ?? [];
}

/** The HTTPS server serving `app` (built when `createHttpServer` got `tls`); the caller listens it. */
export function httpsServerOf(app: FastifyInstance): SecureServer | undefined {
  return secureTwinOf(app.server);
}

/** Builds Sluice's TagoIO-compatible REST API; the caller decides where it listens. */
export async function createHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    // Widened to Fastify's logger type so the instance has the plain FastifyInstance type callers expect.
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request info lines would drown the broker's log; completions are logged at debug below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    routerOptions: { querystringParser: routerQueryParser(deps.queryBounds ?? DEFAULT_QUERY_BOUNDS) },
    // No request may end the process: errors before routing, at the socket and escaping the
    // router all answer in the envelope (boundary.ts).
    frameworkErrors,
    clientErrorHandler: clientErrorHandler(deps.logger),
    serverFactory: guardedServerFactory(deps.logger, deps.connectionBounds, deps.tls),
  });

  const routes: HttpRoute[] = [];
  routeLists.set(app, routes);
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url ?? route.path });
  });

  // First of all hooks: a preflight is answered before anything else runs (cors.ts).
  if (deps.corsOrigins !== undefined && deps.corsOrigins.length > 0) await installCors(app, deps.corsOrigins);
  acceptJsonOnly(app);
  // Path parameters and the query string, like bodies: no U+0000 (see holdsNul).
  app.addHook("preValidation", async (request) => {
    if (holdsNul(request.params) || holdsNul(request.query)) throw invalid("the request's path and query must not contain the NUL character (U+0000)");
  });
  if (deps.maxResponseBytesInFlight !== undefined) installResponseBudget(app, deps.maxResponseBytesInFlight);
  installEnvelope(app, bodyLimit);
  instrumentHttp(app, deps.metrics);
  // First hook of every route, before authentication: a query string past its bounds is refused.
  app.addHook("onRequest", async (request) => {
    const refused = queryRefusal(request.query);
    if (refused) throw refused;
  });
  app.addHook("onResponse", async (request, reply) => {
    // The URL may carry a token (`?token=` on streams, DELETE /device/token/:token).
    const url = redactUrl(request.url, request.routeOptions.url);
    request.log.debug({ method: request.method, url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "http request");
  });

  // Before every route, so the reference sees them all (openapi.ts); public, outside both slots.
  await installOpenApi(app, packageVersion());
  await app.register(consoleRoutes(deps.consoleDir, { imageSources: deps.consoleImageSources, shareFrameAncestors: deps.shareFrameAncestors }));
  await app.register(statusRoutes(deps));
  await app.register(metricsRoutes(deps));
  await app.register(async (account) => {
    documentRoutes(account, { security: SECURITY.account });
    account.addHook("onRequest", accountAuth(deps.identity, deps.metrics, deps.sessions));
    if (deps.admit) account.addHook("onRequest", async (request) => admitted(request, await deps.admit!(request, accountOf(request))));
    installBodyCap(account);
    await account.register(deviceRoutes(deps));
    await account.register(deviceTokenRoutes(deps));
    for (const plugin of deps.routes?.account ?? []) await account.register(plugin);
  });
  await app.register(async (device) => {
    documentRoutes(device, { security: SECURITY.device });
    device.addHook("onRequest", deviceAuth(deps.identity, deps.metrics));
    if (deps.admit) device.addHook("onRequest", async (request) => {
      const { accountId, deviceId } = deviceOf(request);
      admitted(request, await deps.admit!(request, accountId, deviceId));
    });
    installBodyCap(device);
    for (const plugin of deps.routes?.device ?? []) await device.register(plugin);
  });
  for (const plugin of deps.routes?.public ?? []) await app.register(plugin);
  return app;
}

function admitted(request: FastifyRequest, maxBodyBytes: void | number): void {
  if (typeof maxBodyBytes === "number") capBody(request, maxBodyBytes);
}

/**
 * The API speaks JSON only: other content types get 415. An empty body under a JSON content
 * type counts as no body, because clients set the header on every request, DELETEs included.
 */
function acceptJsonOnly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8"); // parseAs "string" makes it a string already
    if (text === "") {
      done(null, undefined);
      return;
    }
    // JSON spells U+0000 only as the escape: the common body never pays for the walk.
    if (!text.includes("\\u0000")) {
      parseJson(request, text, done);
      return;
    }
    parseJson(request, text, (err: Error | null, value?: unknown) => {
      if (err) done(err, undefined);
      else if (holdsNul(value)) done(invalid("strings in the body must not contain the NUL character (U+0000)"), undefined);
      else done(null, value);
    });
  });
}

/**
 * Whether any string (key or value) of a parsed body holds U+0000, which PostgreSQL's text
 * cannot store: refused at the door for every route, on both stores alike (docs/cluster.md).
 * A loop, not recursion: a body may nest as deep as its size allows.
 */
function holdsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (v.includes("\0")) return true;
    } else if (Array.isArray(v)) {
      for (const inner of v) stack.push(inner);
    } else if (v !== null && typeof v === "object") {
      for (const [k, inner] of Object.entries(v)) {
        if (k.includes("\0")) return true;
        stack.push(inner);
      }
    }
  }
  return false;
}
