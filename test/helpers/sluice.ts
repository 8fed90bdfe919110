import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { pino, type Logger } from "pino";
import { defaultConfig, type SluiceConfig } from "../../src/config/schema.js";
import { generateId } from "../../src/identity/tokens.js";
import { startServer, type RunningServer } from "../../src/server.js";
import type { Permission } from "../../src/store/types.js";
import { testStoreUrl } from "./test_store.js";

export interface TestSluice {
  server: RunningServer;
  dataDir: string;
  ports: RunningServer["ports"];
  adminToken: string;
  /** mqtt://127.0.0.1:PORT */
  mqttUrl: string;
  /** The HTTP API: http://127.0.0.1:PORT */
  api: string;
  /** Creates a device in the admin account (or `accountId`) and returns a token with `permission`. */
  device(options?: { permission?: Permission; accountId?: string; expiresAt?: Date }): Promise<{ deviceId: string; token: string; tokenId: string }>;
  /** A second account, isolated from the admin's. */
  account(): Promise<string>;
  /** Connects an MQTT.js client and waits for CONNACK; closed automatically by `close()`. */
  connect(options?: IClientOptions): Promise<MqttClient>;
  /** Stops the server; keeps the data dir when `keepData` (to restart on it). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export type ConfigOverrides = Partial<Omit<SluiceConfig, "mqtt" | "data" | "users" | "sessions" | "login" | "cluster" | "postgres">> & {
  cluster?: Partial<SluiceConfig["cluster"]>;
  postgres?: Partial<SluiceConfig["postgres"]>;
  mqtt?: Partial<SluiceConfig["mqtt"]>;
  data?: Partial<SluiceConfig["data"]>;
  users?: Partial<SluiceConfig["users"]>;
  sessions?: Partial<SluiceConfig["sessions"]>;
  login?: Partial<SluiceConfig["login"]>;
};

export interface StartOptions {
  /** Reads what the server logs. */
  logger?: Logger;
  /**
   * The admin account's token, for a node that joins a store another node already set up: only
   * the node that made the admin account has its token (in its data dir's `admin-token`).
   */
  adminToken?: string | Promise<string>;
}

/**
 * A whole Sluice (broker, HTTP API, SQLite in a temp dir) on ephemeral loopback ports, as a
 * user would run it. Pass `dataDir` to restart on an earlier instance's data, `options.logger`
 * to read what it logs.
 *
 * `SLUICE_TEST_STORE=postgres` runs it on PostgreSQL instead (unless the test names its own
 * `postgres.url`): one private server per test process, a fresh database per new data dir, the
 * same database again for a restart on a data dir (test/helpers/test_store.ts).
 */
export async function startSluice(overrides: ConfigOverrides = {}, dataDir?: string, options: StartOptions = {}): Promise<TestSluice> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "sluice-test-"));
  const storeUrl = overrides.postgres?.url ?? (await testStoreUrl(dir));
  const config: SluiceConfig = {
    ...structuredClone(defaultConfig),
    host: "127.0.0.1",
    mqttPort: 0,
    mqttsPort: 0,
    wsPort: 0,
    wssPort: 0,
    httpPort: 0,
    httpsPort: 0,
    logLevel: "silent",
    authFailureDelayMs: 20,
    authFailureDelayMaxMs: 200,
    ...overrides,
    mqtt: { ...defaultConfig.mqtt, ...overrides.mqtt },
    data: { ...defaultConfig.data, ...overrides.data },
    cluster: { ...defaultConfig.cluster, ...overrides.cluster },
    users: { ...defaultConfig.users, ...overrides.users },
    sessions: { ...defaultConfig.sessions, ...overrides.sessions },
    // Short sign-in throttling, like the MQTT one above: a test's deliberate wrong password must not make the next sign-in wait a second.
    login: { ...defaultConfig.login, failureDelayMs: 20, failureDelayMaxMs: 200, ...overrides.login },
    postgres: { ...defaultConfig.postgres, ...overrides.postgres, url: storeUrl },
    dataDir: dir,
  };
  const server = await startServer(config, options.logger ?? pino({ level: process.env.SLUICE_TEST_LOG ?? "silent" }));
  const tokenFile = join(dir, "admin-token");
  const adminToken = server.adminToken ?? (existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : await options.adminToken);
  if (adminToken === undefined) throw new Error(`no admin token: this node did not make the admin account and none was given (${tokenFile})`);
  const adminAccount = (await server.identity.authenticateAccount(adminToken))!;
  const clients = new Set<MqttClient>();
  const mqttUrl = `mqtt://127.0.0.1:${server.ports.mqtt}`;

  return {
    server,
    dataDir: dir,
    ports: server.ports,
    adminToken,
    mqttUrl,
    api: `http://127.0.0.1:${server.ports.http}`,
    async device(options = {}) {
      const accountId = options.accountId ?? adminAccount;
      const { device } = await server.identity.createDevice(accountId, { name: `dev-${generateId().slice(0, 6)}` });
      const { row, token } = await server.identity.createToken(accountId, device.id, {
        permission: options.permission ?? "full",
        expiresAt: options.expiresAt ?? null,
      });
      return { deviceId: device.id, token, tokenId: row.id };
    },
    async account() {
      return (await server.identity.createAccount("other")).accountId;
    },
    connect(options = {}) {
      return new Promise((resolve, reject) => {
        const client = mqtt.connect(mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
        clients.add(client);
        client.once("connect", () => resolve(client));
        client.once("error", (err) => reject(err));
        client.once("close", () => reject(new Error("closed before CONNACK")));
      });
    },
    async close(options = {}) {
      await Promise.all([...clients].map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
      await server.close();
      if (!options.keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the next `count` messages a client receives (topic, payload, packet). */
export function nextMessages(client: MqttClient, count = 1, timeoutMs = 3000): Promise<{ topic: string; payload: string; packet: mqtt.IPublishPacket }[]> {
  return new Promise((resolve, reject) => {
    const got: { topic: string; payload: string; packet: mqtt.IPublishPacket }[] = [];
    const timer = setTimeout(() => {
      client.off("message", onMessage);
      reject(new Error(`expected ${count} message(s), got ${got.length}: ${JSON.stringify(got.map((g) => g.topic))}`));
    }, timeoutMs);
    function onMessage(topic: string, payload: Buffer, packet: mqtt.IPublishPacket) {
      got.push({ topic, payload: payload.toString(), packet });
      if (got.length === count) {
        clearTimeout(timer);
        client.off("message", onMessage);
        resolve(got);
      }
    }
    client.on("message", onMessage);
  });
}

/** Resolves true if no message arrives within `ms`. */
export function noMessage(client: MqttClient, ms = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const onMessage = () => {
      clearTimeout(timer);
      client.off("message", onMessage);
      resolve(false);
    };
    const timer = setTimeout(() => {
      client.off("message", onMessage);
      resolve(true);
    }, ms);
    client.on("message", onMessage);
  });
}
