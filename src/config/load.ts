import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { SluiceError } from "../errors.js";
import { isEmail } from "../identity/email.js";
import { resolvePlans } from "../limits/plans.js";
import { natsServers } from "../cluster/nats_url.js";
import { ConfigError } from "./errors.js";
import { defaultConfig, LOG_FORMATS, type SluiceConfig } from "./schema.js";

/** Flags and environment share one vocabulary: flag `--mqtt-port` = env `SLUICE_MQTT_PORT` = key `mqttPort`. */
const scalarKeys: Record<string, keyof SluiceConfig> = {
  "data-dir": "dataDir",
  host: "host",
  "mqtt-port": "mqttPort",
  "mqtts-port": "mqttsPort",
  "ws-port": "wsPort",
  "wss-port": "wssPort",
  "ws-path": "wsPath",
  "http-port": "httpPort",
  "https-port": "httpsPort",
  "allow-anonymous": "allowAnonymous",
  "tls-cert": "tlsCert",
  "tls-key": "tlsKey",
  "log-level": "logLevel",
  "log-format": "logFormat",
  "sys-interval": "sysInterval",
  "default-plan": "defaultPlan",
  "relay-secret": "relaySecret",
};

/**
 * Sections holding scalars only, read key by key (an unknown key is refused, a missing one keeps
 * its default). Some keys have flags too, named `<section>-<key>`: `--smtp-host` =
 * `SLUICE_SMTP_HOST` = `smtp: { host }`.
 */
const sections = ["analysis", "notifications", "webhooks", "smtp", "outbound", "http", "parsers", "inspector", "data", "pipeline", "users", "sessions", "login", "pdf", "reports", "dashboards", "postgres", "cluster"] as const satisfies readonly (keyof SluiceConfig)[];
type Section = (typeof sections)[number];
const sectionFlags: Record<string, [Section, string]> = {
  "smtp-host": ["smtp", "host"],
  "smtp-port": ["smtp", "port"],
  "smtp-secure": ["smtp", "secure"],
  "smtp-require-tls": ["smtp", "requireTLS"],
  "smtp-user": ["smtp", "user"],
  "smtp-password": ["smtp", "password"],
  "smtp-from": ["smtp", "from"],
  "outbound-allow-private-targets": ["outbound", "allowPrivateTargets"],
  "http-cors-origins": ["http", "corsOrigins"],
  "http-console-image-sources": ["http", "consoleImageSources"],
  "dashboards-share-frame-ancestors": ["dashboards", "shareFrameAncestors"],
  "users-admin-email": ["users", "adminEmail"],
  "pdf-chromium-path": ["pdf", "chromiumPath"],
  // `--cluster nats://...` = `SLUICE_CLUSTER` = `cluster: { url }` (docs/cluster.md).
  cluster: ["cluster", "url"],
  "node-id": ["cluster", "nodeId"],
  // `--store postgres://...` = `SLUICE_STORE` = `postgres: { url }` (docs/cluster.md).
  store: ["postgres", "url"],
};
/** Counts where 0 would mean "never works" rather than "off". */
const atLeastOne = [
  "analysis.runAsUid", "analysis.runAsGid", "analysis.concurrencyPerAccount", "notifications.maxPerAccount",
  "webhooks.attempts", "webhooks.concurrency", "webhooks.concurrencyPerAccount", "webhooks.timeoutMs", "smtp.concurrency", "smtp.concurrencyPerAccount",
  "http.maxQueryBytes", "http.maxQueryParameters", "http.maxQueryDepth", "http.maxConnections", "http.maxConnectionsPerAddress", "http.keepAliveTimeoutMs", "http.maxResponseBytesInFlight",
  "inspector.maxStreamsPerAccount", "inspector.maxStreamBufferedBytes", "inspector.maxTotalBytes", "inspector.maxDevices", "inspector.maxEventsPerDevice",
  "parsers.maxIsolates", "parsers.memoryMb", "parsers.timeoutMs", "data.maxPageBytes", "data.readsConcurrency", "data.readsPerAccount", "data.readsWaitingPerAccount",
  "users.setupLinkSeconds", "users.maxPerAccount", "users.hashConcurrency", "sessions.idleSeconds", "sessions.maxAgeSeconds", "sessions.maxPerUser",
  "login.maxTracked",
  "pdf.concurrency", "pdf.concurrencyPerAccount", "pdf.timeoutMs", "pdf.maxInputBytes", "pdf.maxOutputBytes", "pdf.maxPages",
  "reports.maxFilesPerAccount", "reports.maxFileBytesPerAccount", "reports.maxRecords", "reports.concurrency", "reports.concurrencyPerAccount",
  "dashboards.maxWidgetsPerDashboard", "dashboards.maxWidgetBytes", "dashboards.maxDashboardBytes",
  "dashboards.shareRequestsPerMinute", "dashboards.shareStreamsPerKey", "dashboards.shareReadsConcurrency", "dashboards.shareReadsPerKey", "dashboards.shareReadsWaitingPerKey", "dashboards.liveEventsPerSecond", "dashboards.liveRecordsPerEvent",
  "cluster.ackTimeoutMs", "cluster.handoffTimeoutMs", "cluster.adoptIntervalMs", "cluster.livenessWaitMs", "cluster.heartbeatMs",
  "cluster.interestRefreshMs", "cluster.presenceWaitMs", "cluster.historyWaitMs", "cluster.historyMaxReplyBytes",
  "cluster.leaseRetryMs", "cluster.leaseTimeoutMs", "cluster.orphanWindowMs",
  "postgres.poolSize", "postgres.connectTimeoutMs",
];

type Overrides = Partial<Record<keyof SluiceConfig, unknown>>;

function coerce(key: keyof SluiceConfig, raw: unknown): unknown {
  return coerceValue(key, (defaultConfig as unknown as Record<string, unknown>)[key], raw);
}

/** `raw` as the type of `template` (the default), refused naming `key` when it is not one. */
function coerceValue(key: string, template: unknown, raw: unknown): unknown {
  if (typeof template === "number") {
    // Number("") and Number(true) (a flag given without its value) would pass as 0 and 1.
    const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${key} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    if ((key.endsWith("Port") || key.endsWith(".port")) && n > 65535) throw new ConfigError(`${key} must be a port number (0 to 65535), got ${n}`);
    return n;
  }
  if (typeof template === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (raw === "true" || raw === "1" || raw === "") return true;
    if (raw === "false" || raw === "0") return false;
    throw new ConfigError(`${key} must be true or false, got ${String(raw)}`);
  }
  if (Array.isArray(template)) return stringList(key, raw);
  if (typeof raw !== "string" && typeof raw !== "number") throw new ConfigError(`${key} needs a value, got ${JSON.stringify(raw)}`);
  const value = String(raw);
  if (key === "logLevel" && !LOG_LEVELS.includes(value)) {
    throw new ConfigError(`logLevel must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(value)}`);
  }
  if (key === "logFormat" && !(LOG_FORMATS as readonly string[]).includes(value)) {
    throw new ConfigError(`logFormat must be one of ${LOG_FORMATS.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * A list of strings: a list in the file, comma-separated in the environment and flags
 * (`SLUICE_HTTP_CORS_ORIGINS=https://a.example,https://b.example`); empty items are dropped.
 */
function stringList(key: string, raw: unknown): string[] {
  const items = typeof raw === "string" ? raw.split(",").map((item) => item.trim()).filter((item) => item !== "") : raw;
  if (!Array.isArray(items) || items.some((item) => typeof item !== "string")) {
    throw new ConfigError(`${key} must be a list of strings (comma-separated in the environment and flags), got ${JSON.stringify(raw)}`);
  }
  if (key === "http.corsOrigins") for (const origin of items as string[]) checkOrigin(key, origin);
  if (key === "dashboards.shareFrameAncestors") checkFrameAncestors(key, items as string[]);
  if (key === "http.consoleImageSources") for (const source of items as string[]) checkCspSource(key, source);
  return items as string[];
}

/**
 * One CSP source as `img-src` takes it: a scheme (`https:`) or a host (`https://tile.example.com`,
 * `*.example.com`). Nothing that could end the directive or add a keyword (`;`, `,`, spaces, quotes).
 */
function checkCspSource(key: string, source: string): void {
  if (!/^(?:[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*\.)?[a-z0-9.-]+(?::\d{1,5})?(?:\/[^\s;,'"]*)?)$/i.test(source)) {
    throw new ConfigError(`${key}: "${source}" is not a CSP source (a scheme like https: or a host like https://tile.example.com)`);
  }
}

/**
 * `*`, or an origin exactly as browsers send it in `Origin`: scheme, host and port only
 * (`https://app.example.com`, `http://localhost:5173`). A path or a trailing slash would never
 * match, so it is refused rather than silently allowing nothing; so is `null` (sandboxed frames
 * and `file:` pages all send it: allowing it would allow any of them).
 */
function checkOrigin(key: string, origin: string): void {
  if (origin === "*") return;
  let parsed: URL | undefined;
  try {
    parsed = new URL(origin);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.origin !== origin) {
    throw new ConfigError(`${key}: ${JSON.stringify(origin)} is not an origin: write it as browsers send it, scheme://host[:port] with no path or trailing slash (e.g. https://app.example.com), or * for any`);
  }
}

/**
 * CSP `frame-ancestors` sources, written into a response header: `*`, `'self'`, `'none'` (alone),
 * or `scheme://host[:port]` with an optional `*.` before the host. Anything else (a `;` or a
 * space would end the directive and start another) is refused.
 */
function checkFrameAncestors(key: string, sources: string[]): void {
  if (sources.length === 0) throw new ConfigError(`${key} needs at least one source: * (any site), 'none', 'self' or an origin`);
  if (sources.includes("'none'") && sources.length > 1) throw new ConfigError(`${key}: 'none' must be the only source`);
  for (const source of sources) {
    if (source === "*" || source === "'self'" || source === "'none'") continue;
    if (!/^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i.test(source)) {
      throw new ConfigError(`${key}: ${JSON.stringify(source)} is not a frame ancestor: write *, 'self', 'none' or an origin such as https://intranet.example.com (https://*.example.com for its subdomains)`);
    }
  }
}

function fromFile(path: string): Overrides {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold an object`);
  return parsed as Overrides;
}

function fromEnv(env: NodeJS.ProcessEnv): Overrides {
  const out: Overrides = {};
  for (const [flag, key] of Object.entries(scalarKeys)) {
    const value = env[`SLUICE_${flag.toUpperCase().replace(/-/g, "_")}`];
    if (value !== undefined) out[key] = value;
  }
  for (const [flag, [section, key]] of Object.entries(sectionFlags)) {
    const value = env[`SLUICE_${flag.toUpperCase().replace(/-/g, "_")}`];
    if (value !== undefined) ((out[section] ??= {}) as Record<string, unknown>)[key] = value;
  }
  return out;
}

/**
 * Keys Sluice no longer reads: refused like any unknown key (a setting that silently does
 * nothing would mislead), saying why, so an old config file is fixed at the first start.
 */
const removedKeys: Record<string, string> = {
  "cluster.nodeTimeoutMs": "a node is dead when its liveness lock in PostgreSQL is free, at once after a kill (docs/cluster.md, \"Plan limits across nodes\")",
};

function applySection(target: SluiceConfig, section: Section, raw: unknown, origin: string): void {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${section} must be an object in ${origin}`);
  const defaults = defaultConfig[section] as unknown as Record<string, unknown>;
  const into = target[section] as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) {
    const removed = removedKeys[`${section}.${key}`];
    if (removed !== undefined) throw new ConfigError(`${section}.${key} in ${origin} is no longer a setting (remove it): ${removed}`);
    if (!(key in defaults)) throw new ConfigError(`unknown ${section} key "${key}" in ${origin}`);
    into[key] = coerceValue(`${section}.${key}`, defaults[key], value);
  }
}

function apply(target: SluiceConfig, overrides: Overrides, origin: string): void {
  for (const [key, raw] of Object.entries(overrides)) {
    if (!(key in defaultConfig) && key !== "tlsCert" && key !== "tlsKey") {
      throw new ConfigError(`unknown configuration key "${key}" in ${origin}`);
    }
    const k = key as keyof SluiceConfig;
    if (k === "mqtt") {
      if (typeof raw !== "object" || raw === null) throw new ConfigError(`mqtt must be an object in ${origin}`);
      for (const [limit, value] of Object.entries(raw)) {
        if (!(limit in defaultConfig.mqtt)) throw new ConfigError(`unknown mqtt limit "${limit}" in ${origin}`);
        if (!Number.isInteger(value) || (value as number) < 0) throw new ConfigError(`mqtt.${limit} must be a non-negative integer`);
        (target.mqtt as unknown as Record<string, number>)[limit] = value as number;
      }
    } else if (k === "plans") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`plans must be an object of plans by name in ${origin}`);
      target.plans = { ...target.plans, ...(raw as SluiceConfig["plans"]) };
    } else if ((sections as readonly string[]).includes(k)) {
      applySection(target, k as Section, raw, origin);
    } else if (k === "acl") {
      if (!Array.isArray(raw)) throw new ConfigError(`acl must be a list in ${origin}`);
      target.acl = raw.map((rule, i) => validateAclRule(rule, `${origin} acl[${i}]`));
    } else {
      (target as unknown as Record<string, unknown>)[k] = coerce(k, raw);
    }
  }
}

function validateAclRule(rule: unknown, where: string): SluiceConfig["acl"][number] {
  const r = rule as Record<string, unknown>;
  if (typeof r !== "object" || r === null) throw new ConfigError(`${where} must be an object`);
  if (r.effect !== "allow" && r.effect !== "deny") throw new ConfigError(`${where}.effect must be allow or deny`);
  if (r.action !== "publish" && r.action !== "subscribe" && r.action !== "all") {
    throw new ConfigError(`${where}.action must be publish, subscribe or all`);
  }
  if (typeof r.filter !== "string" || r.filter.length === 0) throw new ConfigError(`${where}.filter must be a topic filter`);
  return { effect: r.effect, action: r.action, filter: r.filter };
}

export interface LoadOptions {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag values by flag name (`mqtt-port`), as parsed from the command line. */
  flags?: Record<string, string | boolean | undefined>;
}

/** Defaults, then the config file, then environment variables, then flags: each layer wins over the one before. */
export function loadConfig(options: LoadOptions = {}): SluiceConfig {
  const config: SluiceConfig = structuredClone(defaultConfig);
  if (options.configFile) apply(config, fromFile(options.configFile), options.configFile);
  apply(config, fromEnv(options.env ?? process.env), "environment");
  const flagOverrides: Overrides = {};
  for (const [flag, value] of Object.entries(options.flags ?? {})) {
    if (value === undefined) continue;
    const key = scalarKeys[flag];
    if (key) flagOverrides[key] = value;
    const inSection = sectionFlags[flag];
    if (inSection) ((flagOverrides[inSection[0]] ??= {}) as Record<string, unknown>)[inSection[1]] = value;
  }
  apply(config, flagOverrides, "flags");
  for (const name of atLeastOne) {
    const [section, key] = name.split(".") as [Section, string];
    if ((config[section] as unknown as Record<string, number>)[key]! < 1) throw new ConfigError(`${name} must be at least 1`);
  }
  // Node refuses a headers timeout longer than a (non-zero) request timeout.
  const { headersTimeoutMs, requestTimeoutMs } = config.http;
  if (requestTimeoutMs > 0 && (headersTimeoutMs === 0 || headersTimeoutMs > requestTimeoutMs)) {
    throw new ConfigError(`http.headersTimeoutMs (${headersTimeoutMs}) must be between 1 and http.requestTimeoutMs (${requestTimeoutMs})`);
  }
  if (!isEmail(config.users.adminEmail)) throw new ConfigError(`users.adminEmail must be an email address, got ${JSON.stringify(config.users.adminEmail)}`);
  if (config.login.failureDelayMaxMs < config.login.failureDelayMs) {
    throw new ConfigError(`login.failureDelayMaxMs (${config.login.failureDelayMaxMs}) must be at least login.failureDelayMs (${config.login.failureDelayMs})`);
  }
  checkCluster(config.cluster);
  checkStore(config.postgres);
  // Every node decrypts relay credentials any node stored (docs/cluster.md, "Relay credentials"):
  // a key generated per data dir would differ per node, and one kept in the database would sit
  // beside the ciphertexts it protects.
  if (config.postgres.url !== "" && config.relaySecret === "") {
    throw new ConfigError("relaySecret (--relay-secret, SLUICE_RELAY_SECRET) must be set with a PostgreSQL store (--store): every node needs the same key for relay credentials");
  }
  // isolated-vm refuses heaps under 8 MB.
  if (config.parsers.memoryMb < 8) throw new ConfigError("parsers.memoryMb must be at least 8");
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError(`${config.tlsCert === undefined ? "tlsKey" : "tlsCert"} is set without ${config.tlsCert === undefined ? "tlsCert" : "tlsKey"}: give both or neither`);
  }
  try {
    if (!resolvePlans(config.plans).has(config.defaultPlan)) throw new ConfigError(`defaultPlan "${config.defaultPlan}" is not a defined plan`);
  } catch (err) {
    throw err instanceof SluiceError ? new ConfigError(err.message) : err;
  }
  return config;
}

/**
 * The NATS URLs must be URLs NATS clients take (`nats://`, `tls://`, or a bare `host:port`), and the node id fit the origin every bus message carries.
 */
function checkCluster(cluster: SluiceConfig["cluster"]): void {
  // Checked without their credentials: the message names the URL, and must not name a password.
  let servers: string[];
  try {
    servers = natsServers(cluster.url).servers;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  for (const url of servers) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url.includes("://") ? url : `nats://${url}`);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !["nats:", "tls:"].includes(parsed.protocol) || parsed.hostname === "") {
      throw new ConfigError(`cluster.url: ${JSON.stringify(url)} is not a NATS server URL (nats://host:port, comma-separated for several)`);
    }
  }
  if (cluster.nodeId !== "" && !/^[A-Za-z0-9_.-]{1,64}$/.test(cluster.nodeId)) {
    throw new ConfigError(`cluster.nodeId must be 1 to 64 letters, digits, "-", "_" or ".", got ${JSON.stringify(cluster.nodeId)}`);
  }
  // An answer larger than the bus's control-message bound would be dropped unread by the asker.
  if (cluster.historyMaxReplyBytes > 512 * 1024) throw new ConfigError(`cluster.historyMaxReplyBytes must be at most 524288, got ${cluster.historyMaxReplyBytes}`);
  // Every inspector history request waits this long: past a few seconds it is a typo, not a choice.
  if (cluster.historyWaitMs > 10_000) throw new ConfigError(`cluster.historyWaitMs must be at most 10000, got ${cluster.historyWaitMs}`);
  if (cluster.rateCreditPercent > 100) throw new ConfigError(`cluster.rateCreditPercent must be 0 to 100, got ${cluster.rateCreditPercent}`);
  // Half of it is what a publisher has to keep a gone node's messages before its acks fail.
  if (cluster.orphanWindowMs < 1000) throw new ConfigError(`cluster.orphanWindowMs must be at least 1000, got ${cluster.orphanWindowMs}`);
}

/** The store URL must be one PostgreSQL's clients take; anything else is a typo better refused at start. */
function checkStore(postgres: SluiceConfig["postgres"]): void {
  if (postgres.url === "") return;
  let parsed: URL | undefined;
  try {
    parsed = new URL(postgres.url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !["postgres:", "postgresql:"].includes(parsed.protocol)) {
    // The URL may carry a password: name the scheme, never echo the value.
    throw new ConfigError("postgres.url (--store, SLUICE_STORE) must be a postgres:// or postgresql:// URL");
  }
}

export const configFlags = [...Object.keys(scalarKeys), ...Object.keys(sectionFlags)];
