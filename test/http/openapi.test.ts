import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { isConsoleRoute } from "../../src/http/console.js";
import { DOCS_PREFIX, OPENAPI_PATH } from "../../src/http/openapi.js";
import { createHttpServer, registeredRoutes, type HttpRoute } from "../../src/http/server.js";
import { IdentityService } from "../../src/identity/service.js";
import { Metrics } from "../../src/observability/metrics.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Issue 11: the API reference is an OpenAPI 3 document generated from the routes' schemas, at
// /api/openapi.json, readable in a browser at /api/docs; it lists every route the server has.

interface Operation {
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string; required?: boolean }[];
  responses?: Record<string, unknown>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  tags?: { name: string }[];
  components?: { securitySchemes?: Record<string, { type: string; in?: string; name?: string; scheme?: string }> };
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** The reference's own routes (Swagger UI and its assets, the document). */
const isDocRoute = (url: string) => url === OPENAPI_PATH || url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`);

/** What the reference must list: every route but HEAD twins (GET's), its own, the console's page and files, and the CORS preflight route. */
function apiRoutes(routes: readonly HttpRoute[]): HttpRoute[] {
  return routes.filter((r) => r.method !== "HEAD" && !isDocRoute(r.url) && !isConsoleRoute(r.url) && !(r.method === "OPTIONS" && r.url === "*"));
}

const toPath = (url: string) => url.replace(/:(\w+)/g, "{$1}");

/** Registered routes the document does not show, as "METHOD /url". */
function missingFromDocument(routes: readonly HttpRoute[], doc: OpenApiDocument): string[] {
  return apiRoutes(routes)
    .filter((r) => doc.paths[toPath(r.url)]?.[r.method.toLowerCase()] === undefined)
    .map((r) => `${r.method} ${r.url}`);
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: T }> {
  const response = await fetch(url, { headers });
  return { status: response.status, type: response.headers.get("content-type") ?? "", body: (await response.json()) as T };
}

describe("GET /api/openapi.json on a whole Sluice", () => {
  let sluice: TestSluice;
  let doc: OpenApiDocument;
  before(async () => {
    sluice = await startSluice();
    const answer = await getJson<OpenApiDocument>(`${sluice.api}${OPENAPI_PATH}`);
    assert.equal(answer.status, 200);
    assert.match(answer.type, /^application\/json/);
    doc = answer.body;
  });
  after(() => sluice.close());

  test("is an OpenAPI 3.x document", () => {
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.equal(typeof doc.info.title, "string");
    assert.equal(typeof doc.info.version, "string");
    assert.equal(typeof doc.paths, "object");
    for (const [path, item] of Object.entries(doc.paths)) {
      assert.match(path, /^\//, path);
      for (const [method, operation] of Object.entries(item)) {
        assert.ok(METHODS.includes(method), `${method} ${path}`);
        assert.ok(operation.responses && Object.keys(operation.responses).length > 0, `${method} ${path} has responses`);
        // Every {param} of the path is declared, as OpenAPI requires.
        for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
          assert.ok(operation.parameters?.some((p) => p.in === "path" && p.name === name && p.required === true), `${method} ${path}: path parameter ${name}`);
        }
      }
    }
  });

  test("lists every route the server registered, with its method, and nothing else", () => {
    const routes = apiRoutes(sluice.server.httpRoutes);
    assert.ok(routes.length > 70, `${routes.length} routes`);
    assert.deepEqual(missingFromDocument(sluice.server.httpRoutes, doc), []);
    const registered = new Set(routes.map((r) => `${r.method.toLowerCase()} ${toPath(r.url)}`));
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    assert.deepEqual(documented.filter((op) => !registered.has(op)), [], "documented operations that are not routes");
    assert.equal(documented.length, registered.size);
  });

  test("each operation names its resource and the tokens it takes", () => {
    const declared = new Set((doc.tags ?? []).map((t) => t.name));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        assert.ok(operation.tags?.length === 1 && declared.has(operation.tags[0]!), `${method} ${path}: tags ${JSON.stringify(operation.tags)}`);
      }
    }
    const schemes = doc.components?.securitySchemes ?? {};
    assert.deepEqual(schemes.accountToken && { type: schemes.accountToken.type, in: schemes.accountToken.in, name: schemes.accountToken.name }, { type: "apiKey", in: "header", name: "token" });
    assert.deepEqual(schemes.deviceToken && { type: schemes.deviceToken.type, in: schemes.deviceToken.in, name: schemes.deviceToken.name }, { type: "apiKey", in: "header", name: "token" });
    assert.deepEqual(schemes.bearer && { type: schemes.bearer.type, scheme: schemes.bearer.scheme }, { type: "http", scheme: "bearer" });
    const takes = (method: string, path: string) => (doc.paths[path]?.[method]?.security ?? []).flatMap((s) => Object.keys(s)).sort();
    assert.deepEqual(takes("get", "/device"), ["accountToken", "bearer", "sessionCookie"]);
    assert.deepEqual(takes("post", "/data"), ["bearer", "deviceToken"]);
    assert.deepEqual(takes("get", "/events"), ["accountToken", "bearer", "sessionCookie", "tokenQuery"]);
    assert.deepEqual(takes("get", "/status"), []);
  });

  test("the routes' own schemas are in it (params, query, body)", () => {
    const put = doc.paths["/device/{id}"]?.put as Operation & { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } };
    assert.ok(put?.requestBody?.content["application/json"]?.schema.properties.name, "PUT /device/:id body schema");
    assert.ok(doc.paths["/device"]?.get?.parameters?.some((p) => p.in === "query"), "GET /device list query");
  });

  test("is public, outside authentication and plan admission, and holds no secret", async () => {
    const withBadToken = await getJson<OpenApiDocument>(`${sluice.api}${OPENAPI_PATH}`, { token: "00000000-0000-4000-8000-000000000000" });
    assert.equal(withBadToken.status, 200);
    const text = JSON.stringify(doc);
    assert.ok(!text.includes(sluice.adminToken), "the admin token");
    assert.ok(!text.includes(sluice.dataDir), "the data dir");
  });
});

describe("GET /api/docs", () => {
  let sluice: TestSluice;
  before(async () => (sluice = await startSluice()));
  after(() => sluice.close());

  test("is an HTML page whose every asset is served here: no CDN, no other site", async () => {
    for (const path of [DOCS_PREFIX, `${DOCS_PREFIX}/`]) {
      const response = await fetch(`${sluice.api}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'self'/);
      const html = await response.text();
      assert.match(html, /<div id="swagger-ui">/);
      assert.doesNotMatch(html, /https?:|\/\/[a-z]/i, "no URL of another site");
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(assets.length >= 4, assets.join());
      for (const asset of assets) {
        const url = new URL(asset, `${sluice.api}${path}`);
        assert.equal(url.origin, sluice.api, asset);
        const got = await fetch(url);
        assert.equal(got.status, 200, `${asset} from ${path}`);
        await got.arrayBuffer();
      }
    }
    const initializer = await (await fetch(`${sluice.api}${DOCS_PREFIX}/static/swagger-initializer.js`)).text();
    assert.match(initializer, /validatorUrl: null/, "no call to swagger.io's validator");
    assert.match(initializer, /resolveUrl\('\.\/json'\)/, "the document comes from this server");
    const json = await getJson<OpenApiDocument>(`${sluice.api}${DOCS_PREFIX}/json`);
    assert.equal(json.status, 200);
    assert.match(json.body.openapi, /^3\./);
  });
});

describe("the completeness check", () => {
  let store: SqliteStore;
  let identity: IdentityService;
  before(() => {
    store = new SqliteStore(":memory:");
    identity = new IdentityService(store.identity);
  });
  after(async () => {
    identity.stop();
    await store.close();
  });

  test("fails when a route is left out of the document", async () => {
    const app = await createHttpServer({
      identity, metrics: new Metrics({ processMetrics: false }), logger: pino({ level: "silent" }),
      routes: {
        public: [
          async (scope) => {
            scope.get("/shown", async () => ({ status: true, result: 1 }));
            scope.get("/hidden/:id", { schema: { hide: true } }, async () => ({ status: true, result: 2 }));
          },
        ],
      },
    });
    try {
      await app.ready();
      const doc = app.swagger() as unknown as OpenApiDocument;
      assert.ok(doc.paths["/shown"]?.get);
      assert.deepEqual(missingFromDocument(registeredRoutes(app), doc), ["GET /hidden/:id"]);
    } finally {
      await app.close();
    }
  });
});
