import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import type { AddressInfo, Server } from "node:net";
import { join, resolve } from "node:path";
import { Acl } from "./access/acl.js";
import { createBrokerHooks, disconnectOnRevocation } from "./access/broker_hooks.js";
import { loadTlsMaterial } from "./access/tls_material.js";
import type { SluiceConfig } from "./config/schema.js";
import { SqliteBucketStore } from "./data/sqlite/bucket_store.js";
import { SqliteParamStore } from "./data/sqlite/param_store.js";
import { CachedParamStore } from "./data/cached_param_store.js";
import { actionRoutes } from "./http/routes/action.js";
import { dataRoutes } from "./http/routes/data.js";
import { eventRoutes } from "./http/routes/events.js";
import { accountDeviceDataRoutes } from "./http/routes/device_data.js";
import { accountParamRoutes, deviceParamRoutes } from "./http/routes/device_params.js";
import { deviceSelfRoutes } from "./http/routes/device_self.js";
import { inspectorRoutes, inspectorStreamRoutes } from "./http/routes/inspector.js";
import { parserTestRoutes } from "./http/routes/parser_test.js";
import { relayRoutes } from "./http/routes/relay.js";
import { createHttpServer } from "./http/server.js";
import { EventHub } from "./events/hub.js";
import { inspectorBrokerHooks } from "./inspector/broker_events.js";
import { Inspector } from "./inspector/inspector.js";
import { ActionService } from "./pipeline/action_service.js";
import { insertBucketAction } from "./pipeline/actions/insert_bucket.js";
import { mqttPublishAction } from "./pipeline/actions/mqtt_publish.js";
import { ActionRegistry } from "./pipeline/actions/registry.js";
import { DeviceCache } from "./pipeline/device_cache.js";
import { Pipeline } from "./pipeline/ingest.js";
import { PullRequests } from "./pipeline/pull.js";
import { RelayService } from "./relay/relay_service.js";
import { RelaySecrets } from "./relay/secrets.js";
import { TimerTriggers } from "./pipeline/triggers/timers.js";
import { IsolateParserSandbox } from "./sandbox/isolate_parser_sandbox.js";
import { IdentityService } from "./identity/service.js";
import { Broker } from "./mqtt/broker.js";
import { listenTcp } from "./mqtt/transports/tcp.js";
import { listenTls } from "./mqtt/transports/tls.js";
import { listenWebSocket } from "./mqtt/transports/websocket.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { Metrics } from "./observability/metrics.js";
import { SqliteStore } from "./store/sqlite/index.js";
import { SqliteInspectorSwitches } from "./store/sqlite/inspector_switches.js";
import { SqliteRelayRepository } from "./store/sqlite/relays.js";

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
  const buckets = SqliteBucketStore.open(join(dataDir, "sluice.db"), { onError: (err) => logger.error({ err }, "bucket store") });
  const params = new CachedParamStore(new SqliteParamStore(store.db));
  const switches = new SqliteInspectorSwitches(store.db);
  const inspector = new Inspector({ disabled: switches.disabled(), persistEnabled: (deviceId, enabled) => switches.save(deviceId, enabled) });
  const sandbox = new IsolateParserSandbox();
  const events = new EventHub();
  const registry = new ActionRegistry().register(insertBucketAction).register(mqttPublishAction);
  const actions = new ActionService(store.actions, registry, (err) => logger.error({ err }, "storing an action's run time failed"));
  await actions.load();

  // The pipeline needs the broker to publish, and the broker needs the pipeline's hook.
  let broker: Broker | undefined;
  let relays: RelayService | undefined;
  const paramsOf = async (deviceId: string) => (await params.list(deviceId)).map(({ key, value, sent }) => ({ key, value, sent }));
  const pipeline = new Pipeline({
    actions, registry, buckets, sandbox, inspector, devices: new DeviceCache(identity), logger: logger.child({ part: "pipeline" }), paramsOf,
    services: {
      buckets,
      publish(accountId, m, deviceId) {
        broker!.inject(accountId, { ...m, properties: undefined, expiresAt: undefined, publisher: undefined },
          deviceId ? (client) => (client.principal as { deviceId?: string }).deviceId === deviceId : undefined);
        // A device served by an MQTT relay also gets it on the relay's external broker.
        if (deviceId) relays?.downlink(accountId, deviceId, m).catch((err) => logger.error({ err, deviceId }, "relay downlink failed"));
      },
    },
  });
  identity.on("deviceChanged", ({ deviceId, deleted }: { deviceId: string; deleted?: boolean }) => {
    if (deleted) {
      inspector.forget(deviceId);
      buckets.dropDevice(deviceId).catch((err) => logger.error({ err, deviceId }, "dropping a deleted device's bucket failed"));
    }
  });
  const pull = new PullRequests({
    buckets, inspector,
    reply: (accountId, deviceId, message) => broker!.inject(accountId, message, (client) => (client.principal as { deviceId?: string }).deviceId === deviceId),
  });
  const timers = new TimerTriggers((action) => void pipeline.runTimed(action), logger);
  timers.sync(actions.all());
  actions.on("changed", () => timers.sync(actions.all()));

  broker = new Broker({
    limits: config.mqtt,
    hooks: {
      ...createBrokerHooks({ identity, acl: new Acl(config.acl), allowAnonymous: config.allowAnonymous }),
      ...inspectorBrokerHooks(inspector),
      published: (event) => pull.handle(event) ?? pipeline.published(event),
    },
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

  const relaySecrets = RelaySecrets.open(config.relaySecret, dataDir);
  if (relaySecrets.generated) logger.info({ path: relaySecrets.generated }, "generated the key for relay credentials; keep this file with the database");
  const relayDevices = new DeviceCache(identity);
  relays = new RelayService({
    repo: new SqliteRelayRepository(store.db),
    secrets: relaySecrets.secrets,
    ingest: (device, topic, payload, via) => pipeline.fromRelay(device, topic, payload, via),
    route: (accountId, m) => broker!.inject(accountId, { ...m, properties: undefined, expiresAt: undefined, publisher: undefined }),
    device: (accountId, deviceId) => relayDevices.get(accountId, deviceId),
    inspector,
    logger: logger.child({ part: "relay" }),
  });
  identity.on("deviceChanged", () => relays?.devicesChanged());
  relays.start();

  const tls = await loadTlsMaterial(dataDir, config.tlsCert, config.tlsKey);
  if (tls.selfSigned) logger.info({ cert: tls.certPath }, "using a self-signed TLS certificate");

  const servers: Server[] = [];
  const http = await createHttpServer({
    identity, metrics, logger: logger.child({ part: "http" }),
    routes: {
      account: [
        actionRoutes({ actions }),
        accountDeviceDataRoutes({ identity, buckets }),
        accountParamRoutes({ identity, params }),
        inspectorRoutes({ identity, inspector }),
        parserTestRoutes({ identity, sandbox, paramsOf }),
        relayRoutes({ relays }),
      ],
      device: [
        dataRoutes({ buckets, ingest: (principal, body) => pipeline.fromHttp(principal, body) }),
        deviceParamRoutes({ params }),
        deviceSelfRoutes({ identity }),
      ],
      public: [
        inspectorStreamRoutes({ identity, inspector }),
        eventRoutes({
          hub: events,
          async resolveToken(token) {
            const accountId = await identity.authenticateAccount(token);
            return accountId === undefined ? undefined : { accountId };
          },
        }),
      ],
    },
  });
  // Listeners first, then the broker (its DISCONNECTs), then the stores the rest writes to.
  const shutdown = async () => {
    for (const s of servers) s.close();
    await relays?.stop();
    await broker.stop();
    await http.close();
    timers.stop();
    await actions.stop();
    identity.stop();
    await sandbox.close();
    await buckets.close();
    await store.close();
  };
  try {
    servers.push(await listenTcp(broker, config.host, config.mqttPort));
    servers.push(await listenTls(broker, config.host, config.mqttsPort, tls));
    servers.push(await listenWebSocket(broker, config.host, config.wsPort, config.wsPath));
    servers.push(await listenWebSocket(broker, config.host, config.wssPort, config.wsPath, tls));
    await http.listen({ host: config.host, port: config.httpPort });
  } catch (err) {
    await shutdown();
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
      closing ??= shutdown();
      return closing;
    },
  };
}
