/**
 * The API reference: an OpenAPI 3.1 document generated from the routes' own schemas (params,
 * querystring, body, response) by @fastify/swagger, served at `GET /api/openapi.json`, and
 * Swagger UI reading it at `GET /api/docs` (its assets bundled in the package, served from
 * here: the page loads nothing from another site). Both are public, outside the account and
 * device slots (no token, no plan admission), and hold nothing but the API's shape.
 *
 * Each route file names its resource (`documentRoutes(app, { tag })`); the slot a route is
 * registered in (server.ts) says which token it takes. A route without a tag still appears.
 */
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, FastifySchema } from "fastify";

export const OPENAPI_PATH = "/api/openapi.json";
export const DOCS_PREFIX = "/api/docs";

type SecurityRequirement = NonNullable<FastifySchema["security"]>;

/** How a token reaches the API (auth.ts): the `token` header, or `Authorization: Bearer`. */
const securitySchemes = {
  accountToken: {
    type: "apiKey",
    in: "header",
    name: "token",
    description: "An account token (`./data/admin-token`, `/profile/:id/token`) or an analysis token, in TagoIO's `token` header (what `@tago-io/sdk` sends).",
  },
  deviceToken: {
    type: "apiKey",
    in: "header",
    name: "token",
    description: "A device token (`POST /device/token`, `sluice token create`), in the `token` header.",
  },
  bearer: {
    type: "http",
    scheme: "bearer",
    description: "Either kind of token as `Authorization: Bearer <token>` (a bare `Authorization: <token>` works too).",
  },
  sessionCookie: {
    type: "apiKey",
    in: "cookie",
    name: "sluice_session",
    description: "The session `POST /account/login` sets (the console's way in). Writes also need the header `X-Sluice-Csrf: 1` (docs/security.md).",
  },
  tokenQuery: {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "Streams only (a browser's EventSource cannot set headers): the token as `?token=`. It then sits in URLs and proxy logs; prefer the header where the client can.",
  },
} as const;

type Scheme = keyof typeof securitySchemes;
/** Any one of `schemes` admits (OpenAPI: a list of alternatives, each with no scopes). */
const anyOf = (...schemes: Scheme[]): SecurityRequirement => schemes.map((scheme) => ({ [scheme]: [] }));

/** Who may call a route, by the slot it is registered in. */
export const SECURITY = {
  account: anyOf("accountToken", "bearer", "sessionCookie"),
  device: anyOf("deviceToken", "bearer"),
  /** `GET /info`: a device token, or an analysis token (an account token). */
  deviceOrAnalysis: anyOf("deviceToken", "accountToken", "bearer"),
  /** SSE streams, which also take `?token=`. */
  accountStream: anyOf("accountToken", "bearer", "sessionCookie", "tokenQuery"),
};

/** The resources, in the order the reference lists them; each route file tags its routes with one. */
export const TAGS = {
  server: { name: "Server", description: "Liveness (with the MQTT listeners' ports) and Prometheus metrics; no token." },
  account: { name: "Account", description: "The account, its usage and plan; `/admin/*` for the admin account." },
  profile: { name: "Profile", description: "TagoIO's profile API: the account and its account tokens (docs/accounts.md)." },
  devices: { name: "Devices", description: "Devices of the account." },
  deviceTokens: { name: "Device tokens", description: "Tokens of a device: list, create, revoke." },
  deviceData: { name: "Device data", description: "A device's records and data settings, with an account token." },
  deviceParams: { name: "Device params", description: "Configuration params: of one device with an account token, or of itself with a device token." },
  deviceApi: { name: "Device API", description: "What a device does with its own token: `/data` (every TagoIO query kind) and `/info`." },
  parsers: { name: "Parsers", description: "Try a payload parser on a device (docs/parsers.md)." },
  inspector: { name: "Inspector", description: "A device's recent events, and the live stream (SSE) (docs/inspector.md)." },
  actions: { name: "Actions", description: "Actions and their webhook dead letters (docs/actions.md)." },
  analyses: { name: "Analyses", description: "Analyses, their runs, scripts and logs (docs/analysis.md)." },
  analysisServices: { name: "Analysis services", description: "The services an analysis calls: console, MQTT, notification, email." },
  notifications: { name: "Notifications", description: "In-app notifications (docs/notifications.md)." },
  relays: { name: "Relays", description: "MQTT relays to other brokers (docs/relay.md)." },
  events: { name: "Events", description: "Server-Sent Events: notifications, analysis triggers and consoles, devices' connections and inputs, live." },
  users: { name: "Users and sign-in", description: "Signing in and out, first-run setup, the account's users and passwords (docs/accounts.md, docs/security.md)." },
} as const;

type Tag = (typeof TAGS)[keyof typeof TAGS]["name"];

/**
 * What the reference says of the routes `app` registers after this call (its own and its
 * child plugins'): their resource and the tokens they take. A route's own `schema.tags` or
 * `schema.security` wins; the route's schema object itself is never changed (a copy is set).
 */
export function documentRoutes(app: FastifyInstance, doc: { tag?: Tag; security?: SecurityRequirement }): void {
  app.addHook("onRoute", (route) => {
    const schema: FastifySchema = route.schema ?? {};
    route.schema = {
      ...schema,
      ...(doc.tag !== undefined && schema.tags === undefined ? { tags: [doc.tag] } : {}),
      ...(doc.security !== undefined && schema.security === undefined ? { security: doc.security } : {}),
    };
  });
}

const DESCRIPTION = `Sluice's TagoIO-compatible REST API: \`@tago-io/sdk\` works against it unchanged.

Every answer is TagoIO's envelope: \`{ "status": true, "result": ... }\`, or \`{ "status": false, "message": "..." }\` with a 4xx/5xx status.
A token goes in the \`token\` header (or \`Authorization: Bearer\`): an account token for the account's resources, a device token for \`/data\`, \`/info\` and \`/device/params\`.
Plans may refuse a request with 429 (\`Retry-After\`) or 413; see docs/plans.md.`;

/**
 * A strict Content-Security-Policy for the Swagger UI page: its scripts, styles and the
 * document come from this server only (inline styles are Swagger UI's own), and "Try it out"
 * may call this server only.
 */
const DOCS_CSP = {
  "default-src": "'self'",
  "script-src": "'self'",
  "style-src": ["'self'", "'unsafe-inline'"],
  "img-src": ["'self'", "data:"],
  "font-src": ["'self'", "data:"],
  "connect-src": "'self'",
  "object-src": "'none'",
  "base-uri": "'self'",
  "form-action": "'self'",
  "frame-ancestors": "'none'",
};

/**
 * Registers the document generator (before any route, so it sees every one), Swagger UI at
 * `DOCS_PREFIX` and `GET OPENAPI_PATH`. The document is built once, at its first request.
 */
export async function installOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "Sluice HTTP API", version, description: DESCRIPTION },
      components: { securitySchemes: { ...securitySchemes } },
      tags: Object.values(TAGS).map((tag) => ({ ...tag })),
    },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PREFIX,
    staticCSP: DOCS_CSP,
    theme: { title: "Sluice API reference" },
    // Tokens typed into "Authorize" stay in the page's memory, never in localStorage.
    uiConfig: { deepLinking: true, persistAuthorization: false },
  });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
