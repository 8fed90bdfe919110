import assert from "node:assert/strict";
import { Agent, request as httpRequest, type OutgoingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { isConsoleRoute } from "../../src/http/console.js";
import { DOCS_PREFIX, OPENAPI_PATH } from "../../src/http/openapi.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Security issue 9, "no request may kill the server", as a sweep: every registered route, with
// no token, a wrong token, an account token and a device token, gets a bounded, deterministic
// set of hostile query strings, paths, headers and bodies. After each batch the server still
// answers, every answer was JSON with a sane status, and no built-in of this process (where
// the whole Sluice runs) was replaced.

let sluice: TestSluice;
let deviceId: string;
let deviceToken: string;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

before(async () => {
  sluice = await startSluice();
  ({ deviceId, token: deviceToken } = await sluice.device());
  port = sluice.ports.http;
});
after(async () => {
  agent.destroy();
  await sluice.close();
});

// --- built-ins, by identity ------------------------------------------------------------

type Snapshot = Map<string, unknown>;
const watched: [string, object][] = [
  ["Object", Object], ["Object.prototype", Object.prototype], ["Array.prototype", Array.prototype],
  ["Function.prototype", Function.prototype], ["String.prototype", String.prototype], ["Number.prototype", Number.prototype],
  ["Boolean.prototype", Boolean.prototype], ["Promise.prototype", Promise.prototype], ["JSON", JSON], ["Reflect", Reflect],
];

function snapshot(): Snapshot {
  const out: Snapshot = new Map();
  for (const [name, target] of watched) {
    out.set(`${name}:[[Prototype]]`, Object.getPrototypeOf(target));
    for (const key of Reflect.ownKeys(target)) {
      const descriptor = Object.getOwnPropertyDescriptor(target, key)!;
      out.set(`${name}.${String(key)}`, descriptor.get ?? descriptor.set ?? descriptor.value);
    }
  }
  out.set("Object.prototype.hasOwnProperty.call", Object.prototype.hasOwnProperty.call);
  out.set("Object.prototype.toString.call", Object.prototype.toString.call);
  return out;
}

function assertUnchanged(before: Snapshot, when: string): void {
  const now = snapshot();
  for (const [key, value] of now) assert.ok(before.has(key) && before.get(key) === value, `${when}: ${key} was added or replaced`);
  for (const key of before.keys()) assert.ok(now.has(key), `${when}: ${key} was removed`);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, `${when}: Object.prototype polluted`);
}

// --- requests --------------------------------------------------------------------------

interface Answer {
  status: number;
  type: string;
  body: string;
}

interface Hostile {
  method: string;
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: string;
  /** The route pattern aimed at. */
  route?: string;
}

/** node:http, not fetch: the path goes out byte for byte (`..%2f`, `%00`), headers may repeat. */
function send(req: Hostile): Promise<Answer | "reset"> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: "127.0.0.1", port, agent, method: req.method, path: req.path, headers: req.headers }, (response) => {
      const type = response.headers["content-type"] ?? "";
      if (type.startsWith("text/event-stream")) {
        // A stream this token may open: it answered, which is all this suite asks.
        response.destroy();
        resolve({ status: response.statusCode!, type, body: "" });
        return;
      }
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, type, body }));
      response.on("error", reject);
    });
    outgoing.setTimeout(5000, () => outgoing.destroy(new Error(`no answer in 5 s: ${req.method} ${req.path.slice(0, 120)}`)));
    // A refused request may be answered (and its socket closed) before its body is written.
    outgoing.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" || err.code === "EPIPE" ? resolve("reset") : reject(err)));
    outgoing.end(req.body);
  });
}

const isDocRoute = (route: string) => route === OPENAPI_PATH || route.startsWith(DOCS_PREFIX);

/** 5xx a route may answer on purpose. None so far: each needs a reason written here. */
const justified5xx = (_req: Hostile, _answer: Answer) => false;

function check(req: Hostile, answer: Answer | "reset", what: string): void {
  const label = `${what}: ${req.method} ${req.path.slice(0, 100)} → ${answer === "reset" ? "reset" : answer.status}`;
  if (answer === "reset") {
    // Only a request Node refuses at the socket (too large headers) may be cut short.
    assert.ok(req.path.length > 16_000 || JSON.stringify(req.headers ?? {}).length > 16_000, label);
    return;
  }
  assert.ok(answer.status >= 200 && answer.status < 600, label);
  assert.ok(answer.status < 500 || justified5xx(req, answer), `${label}: ${answer.body.slice(0, 200)}`);
  if (req.route === "/metrics" && answer.status === 200) return; // Prometheus text, by design
  // The API reference (Swagger UI's page, scripts, styles, a redirect; the document itself):
  // not in the envelope by design. Its errors are, as everywhere.
  if (req.route !== undefined && isDocRoute(req.route) && answer.status < 400) return;
  // The console's page and files, likewise; the same rule for their errors.
  // The router decodes the path first, so `/%76iew` is the share view's page (`/view`).
  if ((req.route === undefined || isConsoleRoute(req.route)) && isConsoleRoute(decodedPath(req.path.split("?")[0]!)) && answer.status < 400) return;
  if (answer.type.startsWith("text/event-stream") || req.method === "HEAD") return;
  assert.match(answer.type, /^application\/json/, `${label}: content-type ${answer.type}`);
  const parsed = JSON.parse(answer.body) as { status?: unknown; message?: unknown };
  assert.equal(typeof parsed.status, "boolean", `${label}: not in the envelope: ${answer.body.slice(0, 200)}`);
  if (answer.status >= 400) assert.equal(typeof parsed.message, "string", label);
}

function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

async function sendAll(requests: Hostile[], what: string): Promise<void> {
  const queue = [...requests];
  const worker = async () => {
    for (let req = queue.shift(); req !== undefined; req = queue.shift()) check(req, await send(req), what);
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function stillServing(what: string): Promise<void> {
  const answer = await send({ method: "GET", path: "/status" });
  assert.ok(answer !== "reset" && answer.status === 200, `${what}: GET /status no longer answers`);
}

// --- what is thrown at each route ------------------------------------------------------

const FAKE_ID = "0123456789abcdef01234567";

/** The route's pattern with its parameters filled: the real device where one exists (deletes excepted). */
function concrete(route: { method: string; url: string }): string {
  return route.url
    .replace(/:(\w+)/g, (_m, name: string) => (route.method !== "DELETE" && /^(id|deviceId|device)$/.test(name) ? deviceId : FAKE_ID))
    .replace(/\*$/, "x");
}

const hostileQueries: string[] = [
  "__proto__[polluted]=1",
  "__proto__.polluted=1",
  "constructor[prototype][polluted]=1",
  "a[constructor][prototype][polluted]=1",
  "toString[x]=1",
  "toString[name]=x",
  "hasOwnProperty[call]=x",
  "valueOf=1&valueOf[x]=2",
  "filter[__proto__][polluted]=1&filter[toString]=x&fields[hasOwnProperty]=1",
  "orderBy[toString]=x&page[valueOf]=1&amount[0]=1",
  `a${"[b]".repeat(1000)}=1`,
  Array.from({ length: 100_000 }, (_, i) => `p${i}=1`).join("&"),
  Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join("&"),
  "a[999999999]=1",
  "a[4294967295]=1&a[-1]=2&a[1e9]=3",
  "%&%%&%zz=%g&a=%E0%A4%A&b=%ff%fe",
  "a[[b]]=1&[]=2&]]=3&a[b=4&a]b[=5&[[[[=6&a[]][[]=7",
  `filter[name]=${"*a".repeat(60)}*b`,
  "token=x&token=y&token[a]=z",
  "query=aggregate&query[]=x&qty[]=1&variables[a][b]=c",
  "details=true&details[x]=1&start_date[toString]=1",
  "sent_status[]=true&channel[]=x&channels[toString]=y",
];

const hostilePaths = (route: string): string[] => [
  `${route}%00`,
  `${route}/..%2f..%2fetc%2fpasswd`,
  `${route}%2e%2e%2f`,
  `${route}%ff`,
  `${route}/${"a".repeat(5000)}`,
  route.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`),
];

describe("every route against hostile requests", () => {
  let routes: { method: string; url: string }[];
  let tokens: [string, string | undefined][];
  /** Credentials as headers: each token, and a signed-in session's cookie (with the CSRF header). */
  let credentials: [string, OutgoingHttpHeaders][];

  before(async () => {
    routes = sluice.server.httpRoutes.filter((r) => r.method !== "HEAD");
    tokens = [["no token", undefined], ["wrong token", "00000000-0000-4000-8000-000000000000"], ["account token", sluice.adminToken], ["device token", deviceToken]];
    const user = await sluice.server.users.create((await sluice.server.identity.authenticateAccount(sluice.adminToken))!, { email: "hostile@example.com", name: "h", password: "hostile password" });
    const { token: session } = await sluice.server.sessions.start(user);
    credentials = [
      ...tokens.map(([who, token]): [string, OutgoingHttpHeaders] => [who, token === undefined ? {} : { token }]),
      ["session cookie", { cookie: `sluice_session=${session}`, "x-sluice-csrf": "1" }],
      ["wrong session cookie", { cookie: `sluice_session=${"A".repeat(43)}; sluice_session=x`, "x-sluice-csrf": "1" }],
    ];
  });

  /** The routes thrown at with a credential: not sign-out with the live session, which would end it mid-run. */
  const routesFor = (who: string) => (who === "session cookie" ? routes.filter((r) => r.url !== "/account/logout") : routes);

  test("the route list covers the API", () => {
    const list = routes.map((r) => `${r.method} ${r.url}`);
    for (const expected of ["GET /status", "GET /device", "POST /device", "DELETE /device/token/:token", "GET /data", "POST /data", "GET /device/params", "GET /action", "GET /events", "POST /account/login", "POST /account/logout", "POST /account/setup", "POST /account/profile/token", "GET /account/session", "GET /account/user", "POST /account/user", "DELETE /account/user/:id", "POST /account/passwordreset", `GET ${OPENAPI_PATH}`, `GET ${DOCS_PREFIX}`, `GET ${DOCS_PREFIX}/static/*`]) {
      assert.ok(list.includes(expected), `${expected} missing from ${list.join(", ")}`);
    }
    assert.ok(routes.length > 30, String(routes.length));
  });

  test("hostile query strings", async () => {
    const before = snapshot();
    for (const [who, headers] of credentials) {
      await sendAll(routesFor(who).flatMap((route) => hostileQueries.map((query) => ({ method: route.method, route: route.url, path: `${concrete(route)}?${query}`, headers }))), `query, ${who}`);
      await stillServing(`query, ${who}`);
      assertUnchanged(before, `query, ${who}`);
    }
  });

  test("hostile paths", async () => {
    const before = snapshot();
    for (const [who, headers] of credentials) {
      await sendAll(routesFor(who).flatMap((route) => hostilePaths(concrete(route)).map((path) => ({ method: route.method, route: route.url, path, headers }))), `path, ${who}`);
      await stillServing(`path, ${who}`);
      assertUnchanged(before, `path, ${who}`);
    }
  });

  test("hostile headers", async () => {
    const before = snapshot();
    for (const [who, token] of tokens) {
      const variants: OutgoingHttpHeaders[] = [
        { token: [token ?? "a", "b"] },
        { token: [token ?? "a", token ?? "a"], authorization: "Bearer x" },
        { authorization: `Bearer ${token ?? ""}`, "content-type": "application/json; charset=utf-16" },
        { token, "content-type": "application/json;;;;=;" },
        { token, "content-type": "text/plain" },
        { token, "content-type": "multipart/form-data; boundary=x" },
        { token, "content-type": `application/json; ${"x=y;".repeat(500)}` },
        { token, "x-big": "a".repeat(15_000) },
        { token, "x-too-big": "a".repeat(20_000) },
        { token, "accept-version": "1.x", host: "%ff", "x-forwarded-for": "not an ip" },
      ].map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)));
      await sendAll(routes.flatMap((route) => variants.map((headers) => ({ method: route.method, route: route.url, path: concrete(route), headers, body: route.method === "GET" || route.method === "DELETE" ? undefined : "{}" }))), `headers, ${who}`);
      await stillServing(`headers, ${who}`);
      assertUnchanged(before, `headers, ${who}`);
    }
  });

  test("hostile bodies", async () => {
    const before = snapshot();
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    const deepObject = `${'{"a":'.repeat(2000)}1${"}".repeat(2000)}`;
    const bodies = [
      "not json",
      "{",
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      '[{"__proto__":{"polluted":1},"variable":"x","value":1}]',
      deep,
      deepObject,
      '{"name":"\\ud800","variable":"\\u0000"}',
      "null",
      "12",
      '"x"',
      JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }),
    ];
    for (const [who, credential] of credentials) {
      const headers = { ...credential, "content-type": "application/json" };
      const writes = routesFor(who).filter((r) => r.method !== "GET" && r.method !== "DELETE");
      await sendAll(writes.flatMap((route) => bodies.map((body) => ({ method: route.method, route: route.url, path: concrete(route), headers, body }))), `body, ${who}`);
      await stillServing(`body, ${who}`);
      assertUnchanged(before, `body, ${who}`);
    }
  });

  test("Content-Length that does not match the body, and duplicate Content-Length", async () => {
    const raw = (bytes: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
        let got = "";
        socket.on("data", (chunk) => (got += chunk.toString()));
        socket.on("close", () => resolve(got));
        socket.on("error", () => resolve(got));
        setTimeout(() => socket.destroy(), 300);
      });
    const answers = await Promise.all([
      raw(`POST /data HTTP/1.1\r\nHost: x\r\ntoken: ${deviceToken}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}`),
      raw(`POST /data HTTP/1.1\r\nHost: x\r\ntoken: ${deviceToken}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}garbage garbage\r\n\r\n`),
      raw(`POST /device HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}`),
      raw(`POST /device HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`),
      raw(`GET /status?toString[name]=x HTTP/1.1\r\nHost: x\r\n\r\n`),
    ]);
    for (const answer of answers) {
      for (const [, status] of answer.matchAll(/HTTP\/1\.1 (\d+)/g)) assert.ok(Number(status) < 500, answer.slice(0, 300));
    }
    assert.match(answers[4]!, /^HTTP\/1\.1 200/);
    await stillServing("content-length");
  });
});
