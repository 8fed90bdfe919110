import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ConfigError } from "../../src/config/errors.js";
import { loadConfig, type LoadOptions } from "../../src/config/load.js";
import { defaultConfig } from "../../src/config/schema.js";

// Configuration layers: defaults < config file (YAML or JSON) < SLUICE_* environment < flags,
// and every unknown key or bad value refused with an error that names it.

const dir = mkdtempSync(join(tmpdir(), "sluice-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(name: string, text: string): string {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, text);
  return path;
}

/** loadConfig with an empty environment unless one is given (the test runner's must not leak in). */
const load = (options: LoadOptions = {}) => loadConfig({ env: {}, ...options });

/** Expects a ConfigError whose message mentions every one of `words`. */
function refused(options: LoadOptions, ...words: (string | RegExp)[]): void {
  assert.throws(
    () => load(options),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
      for (const w of words) assert.match(err.message, typeof w === "string" ? new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : w);
      return true;
    },
  );
}

describe("precedence", () => {
  test("with no file, environment or flags the defaults apply", () => {
    assert.deepEqual(load(), defaultConfig);
  });

  test("the defaults are not shared: changing a loaded config leaves the next load alone", () => {
    const first = load();
    first.mqtt.maxPacketSize = 1;
    first.acl.push({ effect: "deny", action: "all", filter: "#" });
    assert.deepEqual(load(), defaultConfig);
  });

  test("a YAML file overrides the defaults", () => {
    const configFile = file("sluice.yaml", "mqttPort: 2883\nhost: 127.0.0.1\nallowAnonymous: true\nsysInterval: 0\n");
    const config = load({ configFile });
    assert.equal(config.mqttPort, 2883);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.allowAnonymous, true);
    assert.equal(config.sysInterval, 0);
    assert.equal(config.httpPort, defaultConfig.httpPort, "keys the file does not name keep their default");
  });

  test("a .json file is read as JSON", () => {
    const configFile = file("sluice.json", JSON.stringify({ mqttPort: 2884, mqtt: { maxPacketSize: 4096 } }));
    const config = load({ configFile });
    assert.equal(config.mqttPort, 2884);
    assert.equal(config.mqtt.maxPacketSize, 4096);
  });

  test("the file's mqtt section overrides single limits and keeps the other defaults", () => {
    const configFile = file("limits.yaml", "mqtt:\n  maxPacketSize: 2048\n  receiveMaximum: 10\n");
    const config = load({ configFile });
    assert.deepEqual(config.mqtt, { ...defaultConfig.mqtt, maxPacketSize: 2048, receiveMaximum: 10 });
  });

  test("the file's ACL rules and auth delays are read", () => {
    const configFile = file(
      "acl.yaml",
      'acl:\n  - { effect: deny, action: subscribe, filter: "secret/#" }\n  - { effect: allow, action: all, filter: "devices/%d/#" }\nauthFailureDelayMs: 10\nauthFailureDelayMaxMs: 100\n',
    );
    const config = load({ configFile });
    assert.deepEqual(config.acl, [
      { effect: "deny", action: "subscribe", filter: "secret/#" },
      { effect: "allow", action: "all", filter: "devices/%d/#" },
    ]);
    assert.equal(config.authFailureDelayMs, 10);
    assert.equal(config.authFailureDelayMaxMs, 100);
  });

  test("SLUICE_* environment variables override the file", () => {
    const configFile = file("env.yaml", "mqttPort: 2883\nwsPath: /from-file\nlogLevel: warn\n");
    const config = load({ configFile, env: { SLUICE_MQTT_PORT: "3883", SLUICE_WS_PATH: "/from-env" } });
    assert.equal(config.mqttPort, 3883);
    assert.equal(config.wsPath, "/from-env");
    assert.equal(config.logLevel, "warn", "what the environment does not name stays as the file said");
  });

  test("every scalar setting has its SLUICE_ environment variable", () => {
    const config = load({
      env: {
        SLUICE_DATA_DIR: "/srv/sluice",
        SLUICE_HOST: "::1",
        SLUICE_MQTT_PORT: "1",
        SLUICE_MQTTS_PORT: "2",
        SLUICE_WS_PORT: "3",
        SLUICE_WSS_PORT: "4",
        SLUICE_WS_PATH: "/ws",
        SLUICE_HTTP_PORT: "5",
        SLUICE_HTTPS_PORT: "6",
        SLUICE_ALLOW_ANONYMOUS: "true",
        SLUICE_TLS_CERT: "/c.pem",
        SLUICE_TLS_KEY: "/k.pem",
        SLUICE_LOG_LEVEL: "debug",
        SLUICE_LOG_FORMAT: "pretty",
        SLUICE_SYS_INTERVAL: "7",
      },
    });
    assert.deepEqual(
      { ...config, mqtt: undefined, acl: undefined },
      {
        ...defaultConfig, mqtt: undefined, acl: undefined,
        dataDir: "/srv/sluice", host: "::1", mqttPort: 1, mqttsPort: 2, wsPort: 3, wssPort: 4, wsPath: "/ws", httpPort: 5, httpsPort: 6,
        allowAnonymous: true, tlsCert: "/c.pem", tlsKey: "/k.pem", logLevel: "debug", logFormat: "pretty", sysInterval: 7,
      },
    );
  });

  test("environment variables outside the SLUICE_ prefix are ignored", () => {
    assert.deepEqual(load({ env: { MQTT_PORT: "9", PORT: "9", sluice_mqtt_port: "9" } }), defaultConfig);
  });

  test("flags override the environment and the file", () => {
    const configFile = file("flags.yaml", "mqttPort: 2883\nhttpPort: 2080\n");
    const config = load({ configFile, env: { SLUICE_MQTT_PORT: "3883", SLUICE_HTTP_PORT: "3080" }, flags: { "mqtt-port": "4883" } });
    assert.equal(config.mqttPort, 4883);
    assert.equal(config.httpPort, 3080);
  });

  test("a flag given as undefined does not override anything", () => {
    const config = load({ env: { SLUICE_MQTT_PORT: "3883" }, flags: { "mqtt-port": undefined } });
    assert.equal(config.mqttPort, 3883);
  });

  test("a switch flag turns a boolean on, and false/0 turn it off", () => {
    assert.equal(load({ flags: { "allow-anonymous": true } }).allowAnonymous, true);
    assert.equal(load({ env: { SLUICE_ALLOW_ANONYMOUS: "1" } }).allowAnonymous, true);
    assert.equal(load({ env: { SLUICE_ALLOW_ANONYMOUS: "true" }, flags: { "allow-anonymous": "false" } }).allowAnonymous, false);
    assert.equal(load({ env: { SLUICE_ALLOW_ANONYMOUS: "0" } }).allowAnonymous, false);
  });

  test("port 0 (pick a free port) is accepted", () => {
    assert.equal(load({ flags: { "mqtt-port": "0" } }).mqttPort, 0);
  });
});

describe("errors", () => {
  test("an unknown key in the file is refused and named", () => {
    refused({ configFile: file("unknown.yaml", "mqttPort: 1883\nmqtt_port: 1884\n") }, "mqtt_port");
  });

  test("an unknown mqtt limit is refused and named", () => {
    refused({ configFile: file("unknown-limit.yaml", "mqtt:\n  maxPacketBytes: 10\n") }, "maxPacketBytes");
  });

  test("a port that is not a number is refused and named", () => {
    refused({ env: { SLUICE_MQTT_PORT: "eighteen" } }, "mqttPort", "eighteen");
    refused({ flags: { "http-port": "80a" } }, "httpPort");
    refused({ configFile: file("port.yaml", "wsPort: web\n") }, "wsPort");
  });

  test("negative and fractional numbers are refused", () => {
    refused({ env: { SLUICE_MQTT_PORT: "-1" } }, "mqttPort");
    refused({ env: { SLUICE_SYS_INTERVAL: "1.5" } }, "sysInterval");
  });

  test("a port above 65535 is refused", () => {
    refused({ env: { SLUICE_MQTT_PORT: "65536" } }, "mqttPort", "65536");
    refused({ configFile: file("big-port.yaml", "httpPort: 100000\n") }, "httpPort");
  });

  test("an empty value for a number is refused rather than read as 0", () => {
    refused({ env: { SLUICE_MQTT_PORT: "" } }, "mqttPort");
    refused({ env: { SLUICE_HTTP_PORT: "  " } }, "httpPort");
  });

  test("a value flag given without its value is refused", () => {
    // `sluice start --mqtt-port --http-port 0` parses as mqtt-port: true.
    refused({ flags: { "mqtt-port": true } }, "mqttPort");
    refused({ flags: { "data-dir": true } }, "dataDir");
  });

  test("a boolean that is not true/false/1/0 is refused", () => {
    refused({ env: { SLUICE_ALLOW_ANONYMOUS: "maybe" } }, "allowAnonymous", "maybe");
    refused({ configFile: file("bool.yaml", "allowAnonymous: 2\n") }, "allowAnonymous");
  });

  test("an unknown log level is refused", () => {
    refused({ env: { SLUICE_LOG_LEVEL: "loud" } }, "logLevel", "loud");
  });

  test("a log format other than auto, json or pretty is refused, from any layer", () => {
    refused({ env: { SLUICE_LOG_FORMAT: "xml" } }, "logFormat", "auto, json, pretty", "xml");
    refused({ flags: { "log-format": "PRETTY" } }, "logFormat", "PRETTY");
    refused({ flags: { "log-format": true } }, "logFormat");
    refused({ configFile: file("format.yaml", "logFormat: text\n") }, "logFormat", "text");
  });

  test("a TLS certificate without its key (or the reverse) is refused", () => {
    refused({ flags: { "tls-cert": "/c.pem" } }, "tlsKey");
    refused({ env: { SLUICE_TLS_KEY: "/k.pem" } }, "tlsCert");
  });

  test("a bad mqtt limit is refused and named", () => {
    refused({ configFile: file("limit-neg.yaml", "mqtt:\n  maxPacketSize: -5\n") }, "maxPacketSize");
    refused({ configFile: file("limit-str.yaml", 'mqtt:\n  receiveMaximum: "lots"\n') }, "receiveMaximum");
    refused({ configFile: file("limit-obj.yaml", "mqtt: 5\n") }, "mqtt");
  });

  test("bad ACL rules are refused with the rule's position", () => {
    refused({ configFile: file("acl-list.yaml", "acl: { effect: deny }\n") }, "acl");
    refused({ configFile: file("acl-effect.yaml", 'acl:\n  - { effect: block, action: all, filter: "#" }\n') }, "acl[0]", "effect");
    refused({ configFile: file("acl-action.yaml", 'acl:\n  - { effect: deny, action: all, filter: "#" }\n  - { effect: deny, action: read, filter: "#" }\n') }, "acl[1]", "action");
    refused({ configFile: file("acl-filter.yaml", "acl:\n  - { effect: deny, action: all }\n") }, "acl[0]", "filter");
  });

  test("a file that cannot be read is refused and named", () => {
    const missing = join(dir, "missing.yaml");
    refused({ configFile: missing }, missing);
  });

  test("a file that is not valid YAML or JSON is refused", () => {
    refused({ configFile: file("bad.yaml", "mqttPort: [1883\n") }, "YAML");
    refused({ configFile: file("bad.json", "{ mqttPort: 1883 }") }, "JSON");
  });

  test("a file that does not hold an object is refused", () => {
    refused({ configFile: file("list.yaml", "- mqttPort\n- 1883\n") }, "object");
  });

  test("an empty file is the same as no file", () => {
    assert.deepEqual(load({ configFile: file("empty.yaml", "") }), defaultConfig);
  });
});

describe("notification, webhook and SMTP sections", () => {
  test("the file sets single keys of a section and keeps the other defaults", () => {
    const configFile = file("sections.yaml", "smtp:\n  host: mail.example.com\n  port: 465\n  secure: true\nwebhooks:\n  attempts: 2\nnotifications:\n  maxPerAccount: 50\n");
    const config = load({ configFile });
    assert.deepEqual(config.smtp, { ...defaultConfig.smtp, host: "mail.example.com", port: 465, secure: true });
    assert.deepEqual(config.webhooks, { ...defaultConfig.webhooks, attempts: 2 });
    assert.equal(config.notifications.maxPerAccount, 50);
  });

  test("SMTP keys have SLUICE_SMTP_* variables and --smtp-* flags; flags win", () => {
    const config = load({
      env: { SLUICE_SMTP_HOST: "env.example.com", SLUICE_SMTP_USER: "u", SLUICE_SMTP_PASSWORD: "secret", SLUICE_SMTP_FROM: "a@b.c", SLUICE_SMTP_SECURE: "true" },
      flags: { "smtp-host": "flag.example.com", "smtp-port": "2525" },
    });
    assert.deepEqual(config.smtp, { ...defaultConfig.smtp, host: "flag.example.com", port: 2525, user: "u", password: "secret", from: "a@b.c", secure: true });
  });

  test("unknown section keys, bad values and zero counts are refused and named", () => {
    refused({ configFile: file("s1.yaml", "smtp:\n  hots: x\n") }, "unknown smtp key", "hots");
    refused({ configFile: file("s2.yaml", "smtp:\n  port: 70000\n") }, "smtp.port", "65535");
    refused({ configFile: file("s3.yaml", "webhooks: 3\n") }, "webhooks must be an object");
    refused({ configFile: file("s4.yaml", "webhooks:\n  attempts: 0\n") }, "webhooks.attempts must be at least 1");
    refused({ env: { SLUICE_SMTP_SECURE: "maybe" } }, "smtp.secure");
  });

  test("per-account shares of the shared pools are read from the file; a share of 0 slots is refused", () => {
    const configFile = file("shares.yaml", "analysis:\n  concurrencyPerAccount: 3\n  queuePerAccount: 10\nwebhooks:\n  concurrencyPerAccount: 2\n  maxPendingPerAccount: 40\nsmtp:\n  concurrency: 4\n  concurrencyPerAccount: 2\n  maxWaiting: 50\n  maxWaitingPerAccount: 5\n");
    const config = load({ configFile });
    assert.deepEqual(config.analysis, { ...defaultConfig.analysis, concurrencyPerAccount: 3, queuePerAccount: 10 });
    assert.deepEqual(config.webhooks, { ...defaultConfig.webhooks, concurrencyPerAccount: 2, maxPendingPerAccount: 40 });
    assert.deepEqual(config.smtp, { ...defaultConfig.smtp, concurrency: 4, concurrencyPerAccount: 2, maxWaiting: 50, maxWaitingPerAccount: 5 });
    for (const key of ["analysis.concurrencyPerAccount", "webhooks.concurrencyPerAccount", "smtp.concurrency", "smtp.concurrencyPerAccount"]) {
      const [section, name] = key.split(".");
      refused({ configFile: file(`zero-${name}-${section}.yaml`, `${section}:\n  ${name}: 0\n`) }, `${key} must be at least 1`);
    }
  });
});

describe("http request bounds", () => {
  test("http: keys are read from the file, checked and at least 1", () => {
    const config = loadConfig({ configFile: file("http.yaml", "http:\n  maxQueryBytes: 4096\n"), env: {} });
    assert.deepEqual(config.http, { ...defaultConfig.http, maxQueryBytes: 4096 });
    assert.throws(() => loadConfig({ configFile: file("http0.yaml", "http:\n  maxQueryDepth: 0\n"), env: {} }), /http.maxQueryDepth must be at least 1/);
    assert.throws(() => loadConfig({ configFile: file("http-x.yaml", "http:\n  maxQueryKeys: 3\n"), env: {} }), /unknown http key "maxQueryKeys"/);
  });
});

describe("http.corsOrigins", () => {
  test("none by default; a list in the file, comma-separated in SLUICE_HTTP_CORS_ORIGINS and --http-cors-origins; flags win", () => {
    assert.deepEqual(load().http.corsOrigins, []);
    const configFile = file("cors.yaml", "http:\n  corsOrigins:\n    - https://app.example.com\n    - http://localhost:5173\n");
    assert.deepEqual(load({ configFile }).http.corsOrigins, ["https://app.example.com", "http://localhost:5173"]);
    assert.deepEqual(load({ configFile, env: { SLUICE_HTTP_CORS_ORIGINS: " https://a.example , https://b.example:8443," } }).http.corsOrigins, ["https://a.example", "https://b.example:8443"]);
    assert.deepEqual(load({ configFile, env: { SLUICE_HTTP_CORS_ORIGINS: "https://a.example" }, flags: { "http-cors-origins": "*" } }).http.corsOrigins, ["*"]);
    assert.deepEqual(load({ configFile: file("cors-json.json", '{"http":{"corsOrigins":["*"]}}') }).http.corsOrigins, ["*"]);
  });

  test("anything but an origin as browsers send it, or *, is refused and named", () => {
    for (const bad of ["https://app.example.com/", "https://app.example.com/path", "app.example.com", "null", "ftp://x.example", "https://App.Example.com", "https://x.example:443"]) {
      refused({ env: { SLUICE_HTTP_CORS_ORIGINS: bad } }, "http.corsOrigins", "is not an origin");
    }
    refused({ configFile: file("cors-bad.yaml", "http:\n  corsOrigins: [1, 2]\n") }, "http.corsOrigins must be a list of strings");
    refused({ configFile: file("cors-obj.yaml", "http:\n  corsOrigins: { a: 1 }\n") }, "http.corsOrigins must be a list of strings");
  });
});

describe("http.consoleImageSources", () => {
  test("https: by default; hosts and schemes accepted; anything that could break out of img-src refused", () => {
    assert.deepEqual(load().http.consoleImageSources, ["https:"]);
    assert.deepEqual(load({ env: { SLUICE_HTTP_CONSOLE_IMAGE_SOURCES: "https://tile.openstreetmap.org, *.example.com" } }).http.consoleImageSources, ["https://tile.openstreetmap.org", "*.example.com"]);
    assert.deepEqual(load({ configFile: file("img-none.yaml", "http:\n  consoleImageSources: []\n") }).http.consoleImageSources, []);
    for (const bad of ["https:; script-src *", "'unsafe-inline'", "https://a.example b.example", "\"x\""]) {
      refused({ configFile: file("img-bad.json", JSON.stringify({ http: { consoleImageSources: [bad] } })) }, "http.consoleImageSources", "is not a CSP source");
    }
  });
});

describe("dashboards.shareFrameAncestors", () => {
  test("* by default; origins, 'self' and 'none' accepted; anything that could break out of frame-ancestors refused", () => {
    assert.deepEqual(load().dashboards.shareFrameAncestors, ["*"]);
    assert.deepEqual(load({ env: { SLUICE_DASHBOARDS_SHARE_FRAME_ANCESTORS: "https://intranet.example.com, https://*.example.org:8443" } }).dashboards.shareFrameAncestors, ["https://intranet.example.com", "https://*.example.org:8443"]);
    assert.deepEqual(load({ configFile: file("fa-none.yaml", "dashboards:\n  shareFrameAncestors: [\"'none'\"]\n") }).dashboards.shareFrameAncestors, ["'none'"]);
    for (const bad of ["https://a.example; script-src *", "https://a.example/path", "a.example", "'unsafe-inline'", "https://a.example b.example"]) {
      refused({ configFile: file("fa-bad.json", JSON.stringify({ dashboards: { shareFrameAncestors: [bad] } })) }, "dashboards.shareFrameAncestors", "is not a frame ancestor");
    }
    refused({ configFile: file("fa-mixed.json", JSON.stringify({ dashboards: { shareFrameAncestors: ["'none'", "https://a.example"] } })) }, "dashboards.shareFrameAncestors", "'none' must be the only source");
    refused({ configFile: file("fa-empty.json", JSON.stringify({ dashboards: { shareFrameAncestors: [] } })) }, "dashboards.shareFrameAncestors", "needs at least one source");
  });
});

describe("users, sessions and sign-in keys", () => {
  test("read from the file, the environment and flags; checked", () => {
    const configFile = file("users.yaml", "users:\n  setupLinkSeconds: 60\nsessions:\n  idleSeconds: 3600\n  maxPerUser: 5\nlogin:\n  failureDelayMs: 500\n");
    const config = load({ configFile, env: { SLUICE_USERS_ADMIN_EMAIL: "ops@example.com" }, flags: { "https-port": "9443" } });
    assert.deepEqual(config.users, { ...defaultConfig.users, setupLinkSeconds: 60, adminEmail: "ops@example.com" });
    assert.deepEqual(config.sessions, { ...defaultConfig.sessions, idleSeconds: 3600, maxPerUser: 5 });
    assert.deepEqual(config.login, { ...defaultConfig.login, failureDelayMs: 500 });
    assert.equal(config.httpsPort, 9443);
    assert.equal(load({ flags: { "users-admin-email": "root@localhost" } }).users.adminEmail, "root@localhost");
    refused({ env: { SLUICE_USERS_ADMIN_EMAIL: "not an email" } }, "users.adminEmail");
    refused({ configFile: file("sess0.yaml", "sessions:\n  idleSeconds: 0\n") }, "sessions.idleSeconds must be at least 1");
    refused({ configFile: file("login-max.yaml", "login:\n  failureDelayMs: 5000\n  failureDelayMaxMs: 1000\n") }, "login.failureDelayMaxMs");
    refused({ configFile: file("users-x.yaml", "users:\n  password: x\n") }, "unknown users key", "password");
    refused({ flags: { "https-port": "70000" } }, "httpsPort");
  });
});

describe("dashboards", () => {
  test("dashboards: keys are read from the file and checked; maxPerAccount may be 0 (no dashboards), the others not", () => {
    const config = loadConfig({ configFile: file("dash.yaml", "dashboards:\n  maxPerAccount: 0\n  shareStreamsPerKey: 3\n"), env: {} });
    assert.deepEqual(config.dashboards, { ...defaultConfig.dashboards, maxPerAccount: 0, shareStreamsPerKey: 3 });
    for (const key of ["maxWidgetsPerDashboard", "maxWidgetBytes", "maxDashboardBytes", "shareRequestsPerMinute", "shareStreamsPerKey", "shareReadsConcurrency", "shareReadsPerKey", "shareReadsWaitingPerKey", "liveEventsPerSecond", "liveRecordsPerEvent"]) {
      assert.throws(() => loadConfig({ configFile: file(`dash-${key}.yaml`, `dashboards:\n  ${key}: 0\n`), env: {} }), new RegExp(`dashboards.${key} must be at least 1`));
    }
    assert.throws(() => loadConfig({ configFile: file("dash-x.yaml", "dashboards:\n  maxTabs: 3\n"), env: {} }), /unknown dashboards key "maxTabs"/);
  });
});

describe("cluster", () => {
  test("off by default; --cluster = SLUICE_CLUSTER = cluster.url, --node-id = SLUICE_NODE_ID = cluster.nodeId", () => {
    assert.deepEqual(load().cluster, { url: "", nodeId: "", ackTimeoutMs: 5000, handoffTimeoutMs: 5000, adoptIntervalMs: 1000, livenessWaitMs: 10000, heartbeatMs: 1000, interestRefreshMs: 2000, presenceWaitMs: 200, historyWaitMs: 200, historyMaxReplyBytes: 262144, rateCreditPercent: 5, leaseRetryMs: 1000, leaseTimeoutMs: 3000 });
    assert.equal(load({ flags: { cluster: "nats://10.0.0.5:4222" } }).cluster.url, "nats://10.0.0.5:4222");
    assert.deepEqual(load({ env: { SLUICE_CLUSTER: "nats://a:4222,nats://b:4222", SLUICE_NODE_ID: "node-1" } }).cluster, { url: "nats://a:4222,nats://b:4222", nodeId: "node-1", ackTimeoutMs: 5000, handoffTimeoutMs: 5000, adoptIntervalMs: 1000, livenessWaitMs: 10000, heartbeatMs: 1000, interestRefreshMs: 2000, presenceWaitMs: 200, historyWaitMs: 200, historyMaxReplyBytes: 262144, rateCreditPercent: 5, leaseRetryMs: 1000, leaseTimeoutMs: 3000 });
    assert.equal(load({ env: { SLUICE_NODE_ID: "env" }, flags: { "node-id": "flag" } }).cluster.nodeId, "flag");
    const config = load({ configFile: file("cluster.yaml", "cluster:\n  url: tls://nats.example:4222\n  nodeId: n2\n  ackTimeoutMs: 2000\n") });
    assert.deepEqual(config.cluster, { url: "tls://nats.example:4222", nodeId: "n2", ackTimeoutMs: 2000, handoffTimeoutMs: 5000, adoptIntervalMs: 1000, livenessWaitMs: 10000, heartbeatMs: 1000, interestRefreshMs: 2000, presenceWaitMs: 200, historyWaitMs: 200, historyMaxReplyBytes: 262144, rateCreditPercent: 5, leaseRetryMs: 1000, leaseTimeoutMs: 3000 });
    const tuned = load({ configFile: file("cluster-tuned.yaml", "cluster:\n  heartbeatMs: 500\n  interestRefreshMs: 1000\n  rateCreditPercent: 0\n") }).cluster;
    assert.deepEqual([tuned.heartbeatMs, tuned.interestRefreshMs, tuned.rateCreditPercent], [500, 1000, 0]);
    assert.equal(load({ flags: { cluster: "127.0.0.1:4222" } }).cluster.url, "127.0.0.1:4222");
  });

  test("cluster.nodeTimeoutMs, removed (a node's liveness is its lock), is refused saying so", () => {
    refused({ configFile: file("cluster-dead.yaml", "cluster:\n  nodeTimeoutMs: 10000\n") }, "cluster.nodeTimeoutMs", "no longer a setting", "liveness lock");
  });

  test("a URL NATS clients cannot use, a node id that cannot travel, and a zero ack timeout are refused and named", () => {
    refused({ flags: { cluster: "http://x:4222" } }, "cluster.url", "http://x:4222");
    refused({ configFile: file("cluster-credit.yaml", "cluster:\n  rateCreditPercent: 101\n") }, "cluster.rateCreditPercent");
    refused({ configFile: file("cluster-beat.yaml", "cluster:\n  heartbeatMs: 0\n") }, "cluster.heartbeatMs");
    refused({ configFile: file("cluster-history-wait.yaml", "cluster:\n  historyWaitMs: 0\n") }, "cluster.historyWaitMs");
    refused({ configFile: file("cluster-history-wait-long.yaml", "cluster:\n  historyWaitMs: 60000\n") }, "cluster.historyWaitMs");
    refused({ configFile: file("cluster-history-reply.yaml", "cluster:\n  historyMaxReplyBytes: 600000\n") }, "cluster.historyMaxReplyBytes");
    refused({ flags: { cluster: "nats://" } }, "cluster.url");
    refused({ flags: { cluster: "nats://ok:4222, ws://x:1" } }, "cluster.url", "ws://x:1");
    refused({ env: { SLUICE_NODE_ID: "has space" } }, "cluster.nodeId");
    refused({ env: { SLUICE_NODE_ID: "x".repeat(65) } }, "cluster.nodeId");
    refused({ configFile: file("cluster-ack.yaml", "cluster:\n  ackTimeoutMs: 0\n") }, "cluster.ackTimeoutMs must be at least 1");
    refused({ configFile: file("cluster-x.yaml", "cluster:\n  subjectPrefix: x\n") }, "unknown cluster key", "subjectPrefix");
  });
});

describe("postgres", () => {
  test("postgres.poolSize is read from the file, at least 1; unknown keys are refused", () => {
    assert.equal(defaultConfig.postgres.poolSize, 10);
    assert.equal(loadConfig({ configFile: file("pg.yaml", "postgres:\n  poolSize: 4\n"), env: {} }).postgres.poolSize, 4);
    assert.throws(() => loadConfig({ configFile: file("pg-0.yaml", "postgres:\n  poolSize: 0\n"), env: {} }), /postgres.poolSize must be at least 1/);
    assert.throws(() => loadConfig({ configFile: file("pg-x.yaml", "postgres:\n  host: x\n"), env: {} }), /unknown postgres key "host"/);
  });

  test("--store, SLUICE_STORE and postgres.url name the database; anything but a postgres URL is refused without echoing it", () => {
    assert.equal(defaultConfig.postgres.url, "");
    const secret = { SLUICE_RELAY_SECRET: "the cluster's relay secret" };
    assert.equal(loadConfig({ flags: { store: "postgres://u:p@db:5432/sluice" }, env: secret }).postgres.url, "postgres://u:p@db:5432/sluice");
    assert.equal(loadConfig({ env: { ...secret, SLUICE_STORE: "postgresql://db/sluice" } }).postgres.url, "postgresql://db/sluice");
    assert.equal(loadConfig({ configFile: file("pg-url.yaml", "postgres:\n  url: postgres://db/s\n"), env: secret }).postgres.url, "postgres://db/s");
    assert.throws(() => loadConfig({ flags: { store: "mysql://u:secret@db/s" }, env: secret }), (err: Error) => /postgres:\/\//.test(err.message) && !err.message.includes("u:secret"));
  });

  test("a PostgreSQL store needs relaySecret: every node must decrypt the relay credentials any node stored", () => {
    refused({ env: { SLUICE_STORE: "postgres://u@db/sluice" } }, "relaySecret", "--store");
    const config = load({ env: { SLUICE_STORE: "postgres://u@db/sluice", SLUICE_RELAY_SECRET: "a shared secret of the cluster" } });
    assert.equal(config.postgres.url, "postgres://u@db/sluice");
    assert.equal(load().relaySecret, ""); // one node on SQLite: generated into the data dir, as before
  });

  test("cluster.leaseRetryMs and leaseTimeoutMs are read from the file, at least 1", () => {
    const c = loadConfig({ configFile: file("lease.yaml", "cluster:\n  leaseRetryMs: 250\n  leaseTimeoutMs: 2000\n"), env: {} }).cluster;
    assert.equal(c.leaseRetryMs, 250);
    assert.equal(c.leaseTimeoutMs, 2000);
    assert.throws(() => loadConfig({ configFile: file("lease-0.yaml", "cluster:\n  leaseRetryMs: 0\n"), env: {} }), /cluster.leaseRetryMs must be at least 1/);
  });
});
