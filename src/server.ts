import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import type { AddressInfo, Server } from "node:net";
import { join, resolve } from "node:path";
import { Acl } from "./access/acl.js";
import { createBrokerHooks, disconnectOnRevocation } from "./access/broker_hooks.js";
import { loadTlsMaterial } from "./access/tls_material.js";
import type { SluiceConfig } from "./config/schema.js";
import { createHttpServer } from "./http/server.js";
import { IdentityService } from "./identity/service.js";
import { Broker } from "./mqtt/broker.js";
import { listenTcp } from "./mqtt/transports/tcp.js";
import { listenTls } from "./mqtt/transports/tls.js";
import { listenWebSocket } from "./mqtt/transports/websocket.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { Metrics } from "./observability/metrics.js";
import { SqliteStore } from "./store/sqlite/index.js";

export interface Ports {
  mqtt: number;
  mqtts: number;
  ws: number;
  wss: number;
  http: number;
}

export interface RunningServer {
  readonly config: SluiceConfig;
  readonly ports: Ports;
  readonly broker: Broker;
  readonly identity: IdentityService;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The admin account token, when this start created it. */
  readonly adminToken: string | undefined;
  close(): Promise<void>;
}

/** The composition root: builds every part from the configuration and wires them together. */
export async function startServer(config: SluiceConfig, logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const store = new SqliteStore(dataDir);
  const identity = new IdentityService(store.identity);

  const admin = await identity.bootstrapAdmin();
  const adminTokenPath = join(dataDir, "admin-token");
  if (admin) {
    await writeFile(adminTokenPath, `${admin.token}\n`, { mode: 0o600 });
    logger.info({ path: adminTokenPath }, "created the admin account; its token is in this file");
  }

  const metrics = new Metrics();
  const broker = new Broker({
    limits: config.mqtt,
    hooks: createBrokerHooks({ identity, acl: new Acl(config.acl), allowAnonymous: config.allowAnonymous }),
    logger: logger.child({ part: "mqtt" }),
    store: store.broker,
    sysInterval: config.sysInterval,
    authFailureDelayMs: config.authFailureDelayMs,
    authFailureDelayMaxMs: config.authFailureDelayMaxMs,
  });
  metrics.bindBroker(broker);
  disconnectOnRevocation(identity, broker);
  identity.startExpiryWatch();
  await broker.start();

  const tls = await loadTlsMaterial(dataDir, config.tlsCert, config.tlsKey);
  if (tls.selfSigned) logger.info({ cert: tls.certPath }, "using a self-signed TLS certificate");

  const servers: Server[] = [];
  const http = await createHttpServer({ identity, metrics, logger: logger.child({ part: "http" }) });
  try {
    servers.push(await listenTcp(broker, config.host, config.mqttPort));
    servers.push(await listenTls(broker, config.host, config.mqttsPort, tls));
    servers.push(await listenWebSocket(broker, config.host, config.wsPort, config.wsPath));
    servers.push(await listenWebSocket(broker, config.host, config.wssPort, config.wsPath, tls));
    await http.listen({ host: config.host, port: config.httpPort });
  } catch (err) {
    for (const s of servers) s.close();
    await http.close();
    await broker.stop();
    identity.stop();
    await store.close();
    throw err;
  }
  const portOf = (s: Server) => (s.address() as AddressInfo).port;
  const ports: Ports = {
    mqtt: portOf(servers[0]!),
    mqtts: portOf(servers[1]!),
    ws: portOf(servers[2]!),
    wss: portOf(servers[3]!),
    http: portOf(http.server),
  };
  await writeFile(join(dataDir, "ports.json"), `${JSON.stringify(ports)}\n`);
  logger.info({ ...ports, dataDir }, "sluice is up");

  let closing: Promise<void> | undefined;
  return {
    config, ports, broker, identity, metrics, logger, adminToken: admin?.token,
    close() {
      closing ??= (async () => {
        for (const s of servers) s.close();
        await broker.stop();
        await http.close();
        identity.stop();
        await store.close();
      })();
      return closing;
    },
  };
}
