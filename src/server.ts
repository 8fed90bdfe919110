import { writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { AddressInfo, Server } from "node:net";
import { join, resolve } from "node:path";
import { Acl } from "./access/acl.js";
import { createBrokerHooks, disconnectOnRevocation } from "./access/broker_hooks.js";
import { profileRoutes } from "./http/routes/profile.js";
import { loadTlsMaterial } from "./access/tls_material.js";
import type { SluiceConfig } from "./config/schema.js";
import { FairReads } from "./data/fair_reads.js";
import { CachedParamStore } from "./data/cached_param_store.js";
import { accountRoutes } from "./http/routes/account.js";
import { AnalysisConsole } from "./analysis/console.js";
import { RunQueue, runEventJson } from "./analysis/run_queue.js";
import { ScriptFiles } from "./analysis/script_files.js";
import { AnalysisService } from "./analysis/service.js";
import { ProcessLedger } from "./analysis/leftovers.js";
import { openAnalysisWorkspace } from "./analysis/workspace.js";
import { SluiceError } from "./errors.js";
import { actionRoutes } from "./http/routes/action.js";
import { analysisRoutes } from "./http/routes/analysis.js";
import { analysisServiceRoutes } from "./http/routes/analysis_services.js";
import { deadLetterRoutes } from "./http/routes/dead_letters.js";
import { notificationRoutes } from "./http/routes/notification.js";
import { dataRoutes } from "./http/routes/data.js";
import { eventRoutes } from "./http/routes/events.js";
import { accountDeviceDataRoutes } from "./http/routes/device_data.js";
import { accountDataRoutes } from "./http/routes/device_data_account.js";
import { accountParamRoutes, deviceParamRoutes } from "./http/routes/device_params.js";
import { deviceSelfRoutes } from "./http/routes/device_self.js";
import { inspectorRoutes, inspectorStreamRoutes } from "./http/routes/inspector.js";
import { parserTestRoutes } from "./http/routes/parser_test.js";
import { relayRoutes } from "./http/routes/relay.js";
import type { MqttListenersJson } from "./http/api_types.js";
import { createHttpServer, httpsServerOf, registeredRoutes, type HttpRoute } from "./http/server.js";
import { loginRoutes } from "./http/routes/login.js";
import { userRoutes } from "./http/routes/users.js";
import { LoginThrottle } from "./identity/login_throttle.js";
import { PasswordHasher } from "./identity/passwords.js";
import { SessionService } from "./identity/sessions.js";
import { prepareAdminSetup, removeSetupLink } from "./identity/setup_link.js";
import { UserService } from "./identity/users.js";
import { reportRoutes } from "./http/routes/report.js";
import { parsePdfRequest } from "./pdf/pdf_request.js";
import { PdfService, PdfUnavailable } from "./pdf/pdf_service.js";
import { ReportService } from "./reports/report_service.js";
import { EventHub } from "./events/hub.js";
import { inspectorBrokerHooks } from "./inspector/broker_events.js";
import { Inspector } from "./inspector/inspector.js";
import { ActionService } from "./pipeline/action_service.js";
import { insertBucketAction } from "./pipeline/actions/insert_bucket.js";
import { mqttPublishAction } from "./pipeline/actions/mqtt_publish.js";
import { scriptAction } from "./pipeline/actions/script.js";
import { ActionRegistry, type ActionServices } from "./pipeline/actions/registry.js";
import { DeviceCache } from "./pipeline/device_cache.js";
import { Pipeline } from "./pipeline/ingest.js";
import { PullRequests } from "./pipeline/pull.js";
import { emailAction } from "./pipeline/actions/email.js";
import { notificationAction } from "./pipeline/actions/notification.js";
import { postAction } from "./pipeline/actions/post.js";
import { DeviceEventTriggers } from "./pipeline/triggers/device_events.js";
import { Mailer } from "./notify/mailer.js";
import { NotificationService } from "./notify/notification_service.js";
import { WebhookDelivery } from "./notify/webhook_delivery.js";
import { RelayService } from "./relay/relay_service.js";
import { RelaySecrets } from "./relay/secrets.js";
import { TimerTriggers } from "./pipeline/triggers/timers.js";
import { IsolateParserSandbox } from "./sandbox/isolate_parser_sandbox.js";
import { IdentityService, type DevicePrincipal } from "./identity/service.js";
import { LastInputs } from "./identity/last_input.js";
import { DevicePresence } from "./identity/presence.js";
import { FlappingGuard } from "./limits/flapping.js";
import { httpAdmission } from "./limits/http_admission.js";
import { LimitExceeded } from "./limits/errors.js";
import { Limits } from "./limits/limits.js";
import { mqttAdmission } from "./limits/mqtt_admission.js";
import { resolvePlans } from "./limits/plans.js";
import { composeHooks } from "./mqtt/compose_hooks.js";
import { crossedUsageAlerts, USAGE_SERVICE_OF, type UsageStep } from "./pipeline/triggers/usage_alert.js";
import { Broker } from "./mqtt/broker.js";
import { ClusterNode } from "./cluster/node.js";
import { SharedSessions } from "./cluster/shared_sessions.js";
import { NodeLiveness } from "./cluster/liveness.js";
import { sharedPlanLimits, startClusterServices } from "./cluster/services.js";
import { LocalLeases, PgLeases, type Leases } from "./cluster/singleton.js";
import { bindSingletons } from "./cluster/singleton_work.js";
import { TargetedDelivery } from "./cluster/targeted_delivery.js";
import { RelayDownlinkBus } from "./cluster/relay_downlink.js";
import type { ClientInfo, Message } from "./mqtt/types.js";
import { listen, listenTcp } from "./mqtt/transports/tcp.js";
import { listenTls } from "./mqtt/transports/tls.js";
import { listenWebSocket } from "./mqtt/transports/websocket.js";
import { refuseDebugSignal } from "./observability/debug_signal.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { OutboundGuard } from "./outbound/guard.js";
import { OwnListeners } from "./outbound/own_listeners.js";
import { Metrics } from "./observability/metrics.js";
import { privateDir, privateFile } from "./store/private_files.js";
import { refuseSecondServer, writeServerPid } from "./store/server_pid.js";
import { openBackend } from "./store/backend.js";
import { DashboardService } from "./dashboards/service.js";
import { AccountDevices } from "./dashboards/devices.js";
import { WidgetData } from "./dashboards/widget_data.js";
import { DashboardLive } from "./dashboards/live.js";
import { ChartWarmer } from "./dashboards/warm_charts.js";
import { dashboardRoutes, widgetDataRoutes } from "./http/routes/dashboard.js";
import { widgetPublishRoutes } from "./http/routes/widget_publish.js";
import { shareRoutes } from "./http/routes/share.js";

export interface Ports {
  mqtt: number;
  mqtts: number;
  ws: number;
  wss: number;
  http: number;
  https: number;
}

export interface RunningServer {
  readonly config: SluiceConfig;
  readonly ports: Ports;
  readonly broker: Broker;
  /** This node's part of a cluster, when `cluster.url` is set (docs/cluster.md). */
  readonly cluster: ClusterNode | undefined;
  /** Persistent sessions moving between nodes, with a cluster on PostgreSQL (docs/cluster.md). */
  readonly sharedSessions: SharedSessions | undefined;
  /** The `/events` hub (a cluster relays its events between nodes). */
  readonly events: EventHub;
  /** Plans as this node enforces them. */
  readonly limits: Limits;
  /** The Live Inspector of this node (its switches follow the other nodes' in a cluster). */
  readonly inspector: Inspector;
  readonly identity: IdentityService;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The admin account token, when this start created it. */
  readonly adminToken: string | undefined;
  /** Users of accounts, and their sign-in sessions. */
  readonly users: UserService;
  readonly sessions: SessionService;
  /** Every HTTP API route, method and pattern (`/device/:id`). */
  readonly httpRoutes: readonly HttpRoute[];
  close(): Promise<void>;
}

/** The composition root: builds every part from the configuration and wires them together. */
export async function startServer(config: SluiceConfig, logger: Logger = createLogger(config.logLevel, { format: config.logFormat })): Promise<RunningServer> {
  // `sluice start` installs this first thing (cli/main.ts); here for every other way in.
  refuseDebugSignal((message) => logger.warn(message));
  const dataDir = resolve(config.dataDir);
  // Before anything is touched: a second server on a live data dir would reap the first one's
  // analyses as leftovers and remove its pid file (store/server_pid.ts).
  refuseSecondServer(dataDir);
  // 0700 at every start: the dir holds the database, the admin token and the keys (store/private_files.ts).
  privateDir(dataDir);
  // The data dir's SQLite file, or with `--store postgres://...` the database every node shares (and no SQLite file).
  const store = await openBackend({
    dataDir, postgres: config.postgres, downsampleCacheBytes: config.data.downsampleCacheBytes,
    onBucketError: (err) => logger.error({ err }, "bucket store"),
  });
  // How `sluice restore` and another start know a server runs on this data dir: written once the
  // database is open, which is what tells a live server from a reused pid (store/server_pid.ts).
  const releasePid = writeServerPid(dataDir);
  const identity = new IdentityService(store.identity);

  const admin = await identity.bootstrapAdmin();
  const adminTokenPath = join(dataDir, "admin-token");
  if (admin) await writeFile(adminTokenPath, `${admin.token}\n`, { mode: 0o600 });
  // writeFile's mode applies only to a new file: an existing one (from an earlier start) is fixed here.
  const adminTokenFound = privateFile(adminTokenPath);
  const adminAccountId = admin?.accountId ?? (await identity.listAccounts()).find((a) => a.admin)?.id;

  // Users and their sign-in sessions (docs/accounts.md "Users", docs/security.md "Sessions").
  const hasher = new PasswordHasher({ concurrency: config.users.hashConcurrency, queue: config.users.hashQueue });
  hasher.prepare().catch((err) => logger.error({ err }, "preparing the password hasher failed"));
  const sessions = new SessionService(
    store.userSessions,
    { idleMs: config.sessions.idleSeconds * 1000, maxAgeMs: config.sessions.maxAgeSeconds * 1000, maxPerUser: config.sessions.maxPerUser },
    // A session's id stands for a token id: its SSE streams end like a revoked token's.
    (event) => identity.announceRevoked(event),
  );
  const users = new UserService(store.users, hasher, sessions, {
    maxPerAccount: config.users.maxPerAccount, setupLinkMs: config.users.setupLinkSeconds * 1000,
  });
  const loginThrottle = new LoginThrottle({ baseMs: config.login.failureDelayMs, maxMs: config.login.failureDelayMaxMs, maxTracked: config.login.maxTracked });
  const setupLinkPath = join(dataDir, "setup-link");

  // Plans: every account's limits, in memory; monthly usage persists in SQLite.
  let usageAlerts: (accountId: string, step: UsageStep) => void = () => {};
  // Set with the leases below: on a shared store only one node tells monthly crossings.
  let monthlyAlertsHere = () => true;
  // A cluster on PostgreSQL: this node's liveness lock first; its sessions and connection counts hang on it (docs/cluster.md).
  const liveness = config.cluster.url !== "" && store.postgres
    ? await NodeLiveness.take({ url: config.postgres.url, node: config.cluster.nodeId || hostname(), waitMs: config.cluster.livenessWaitMs, logger: logger.child({ part: "cluster" }) })
    : undefined;
  // A cluster on PostgreSQL counts connections and rates across its nodes (docs/cluster.md).
  const sharedLimits = sharedPlanLimits(config.cluster, store.postgres?.pool, liveness, logger.child({ part: "cluster" }));
  const limits = new Limits({
    ...(sharedLimits && { rateGate: sharedLimits.rates.gate }),
    plans: resolvePlans(config.plans),
    defaultPlan: config.defaultPlan,
    usage: store.usage,
    // Nodes on one PostgreSQL add to the same monthly counters: each reads them back after its writes.
    sharedCounters: store.kind === "postgres",
    onError: (err) => logger.error({ err }, "writing plan usage failed; retrying with the next flush"),
    onUsage: (c) => {
      if (monthlyAlertsHere()) usageAlerts(c.accountId, { service: USAGE_SERVICE_OF[c.metric], before: c.before, after: c.after, limit: c.limit });
    },
  });
  await limits.load();
  for (const account of await identity.listAccounts()) {
    if (account.plan === null) continue;
    try {
      limits.assign(account.id, account.plan);
    } catch {
      logger.warn({ accountId: account.id, plan: account.plan }, "the account's plan is not defined any more; it gets the default plan");
    }
  }
  const flapping = new FlappingGuard();

  const metrics = new Metrics();
  const buckets = store.buckets;
  const params = new CachedParamStore(store.params, { maxBytes: config.pipeline.paramCacheBytes });
  const switches = store.inspectorSwitches;
  const inspector = new Inspector({
    disabled: await switches.disabled(), persistEnabled: (deviceId, enabled) => switches.save(deviceId, enabled),
    maxStreamsPerAccount: config.inspector.maxStreamsPerAccount,
    maxTotalBytes: config.inspector.maxTotalBytes, maxDevices: config.inspector.maxDevices, maxEventsPerDevice: config.inspector.maxEventsPerDevice,
  });
  const sandbox = new IsolateParserSandbox({
    loopSliceMs: config.parsers.loopSliceMs, maxBatchMs: config.parsers.maxBatchMs, maxIsolates: config.parsers.maxIsolates,
    limits: { memoryMb: config.parsers.memoryMb, timeoutMs: config.parsers.timeoutMs },
  });
  const events = new EventHub();
  // Devices' live state for their list and page: MQTT connections, and the last input.
  const presence = new DevicePresence(events);
  const lastInputs = new LastInputs({
    write: (entries) => identity.setLastInputs(entries), sink: events,
    onError: (err) => logger.error({ err }, "writing devices' last input failed"),
  });
  lastInputs.start();
  const ingestHttp = (principal: DevicePrincipal, body: unknown) => {
    lastInputs.record(principal.accountId, principal.deviceId);
    return pipeline.fromHttp(principal, body);
  };
  // Analyses reach the API they run against over HTTP; its port is known once it listens.
  let apiUrl = "";
  const analysisWorkspace = openAnalysisWorkspace(dataDir, config.analysis);
  // Analyses a Sluice killed before its shutdown left running, without limits: gone now.
  const analysisLedger = new ProcessLedger(join(dataDir, "analysis-processes"));
  const leftovers = analysisLedger.reapLeftovers();
  if (leftovers.length > 0) logger.warn({ pids: leftovers }, "killed analysis processes left running by a previous Sluice");
  const analysisConsole = new AnalysisConsole(events, { lines: config.analysis.consoleLines, bytes: config.analysis.consoleBytes });
  const analyses = new AnalysisService({
    store: store.analyses, console: analysisConsole, hub: events, limits: config.analysis,
    queue: new RunQueue(config.analysis, (run, change) => {
      // Told live on `analysis_run.<id>` (the console's run queue); built only when someone listens.
      const channel = `analysis_run.${run.analysisId}`;
      if (events.listening(run.accountId, channel)) events.publish(run.accountId, channel, runEventJson(run, change));
    }),
    files: new ScriptFiles(analysisWorkspace),
    allowPrivateTargets: config.outbound.allowPrivateTargets, ledger: analysisLedger,
    apiUrl: () => apiUrl, logger: logger.child({ part: "analysis" }),
    admitRun(accountId) {
      if (!limits.planOf(accountId).features.analysis) throw new LimitExceeded("features.analysis", "the account's plan has no analyses");
      Limits.enforce(limits.admitMonthly(accountId, "analysis_runs"));
    },
    async revoked(tokenId, cause) {
      if (cause === "analysisDeleted") {
        identity.announceRevoked({ tokenIds: [tokenId], reason: "analysis deleted" });
        return; // the device tokens it minted stay: a provisioning analysis's devices keep working
      }
      identity.announceRevoked({ tokenIds: [tokenId], reason: "analysis token regenerated" });
      await identity.revokeMintedBy(tokenId, "the analysis token that created it was regenerated");
    },
  });
  // Notifications, email and webhooks: services that actions (and analyses' services) call.
  const notifications = new NotificationService(store.notifications, events, config.notifications.maxPerAccount,
    (accountId) => Limits.enforce(limits.admitMonthly(accountId, "notifications")));
  const mailer = new Mailer(config.smtp);
  // Both ways to send mail (`email` actions, the analysis email service) share the plan's
  // emailsPerMonth; nothing is counted while email is not configured (every send fails anyway).
  const admitEmail = (accountId: string) => {
    if (mailer.configured) Limits.enforce(limits.admitMonthly(accountId, "emails"));
  };
  const deadLetters = store.deadLetters;
  // Outbound connections made for accounts: webhooks and relays. Relays also never reach
  // Sluice's own MQTT listeners (a relay to itself loops), whatever allowPrivateTargets says.
  const ownListeners = new OwnListeners();
  ownListeners.setPorts([config.mqttPort, config.mqttsPort, config.wsPort, config.wssPort]);
  const webhookGuard = new OutboundGuard({ allowPrivateTargets: config.outbound.allowPrivateTargets });
  const relayGuard = new OutboundGuard({ allowPrivateTargets: config.outbound.allowPrivateTargets, self: ownListeners });
  // PDFs (the analyses' PDF service, reports): one shared Chromium, started at the first job.
  // A `url` job's document is fetched under the same outbound rule as webhooks.
  const pdf = new PdfService({ config: config.pdf, guard: new OutboundGuard({ allowPrivateTargets: config.outbound.allowPrivateTargets }), logger: logger.child({ part: "pdf" }) });
  const pdfUnavailable = pdf.unavailable();
  if (pdfUnavailable !== undefined) logger.info({ reason: pdfUnavailable }, "PDF features are off (Chromium not found); see docs/reports.md");
  const fileBounds = { maxFiles: config.reports.maxFilesPerAccount, maxBytes: config.reports.maxFileBytesPerAccount };
  const reports = new ReportService({
    // On PostgreSQL every node reads the schedules the `reports` lease arms.
    store: store.reports,
    files: store.files(fileBounds),
    pdf, mailer, admitEmail, buckets,
    devices: identity,
    limits: config.reports,
    maxPageBytes: config.data.maxPageBytes,
    apiUrl: () => apiUrl,
    logger: logger.child({ part: "reports" }),
    // Made below, with the rest of the dashboards; reports only call it once the server runs.
    dashboards: { get: (accountId, id) => dashboards.get(accountId, id), printKey: (accountId, id, ttlMs) => dashboards.printKey(accountId, id, ttlMs) },
  });
  const webhooks = new WebhookDelivery({ policy: config.webhooks, deadLetters, inspector, logger: logger.child({ part: "webhooks" }), guard: webhookGuard });
  const registry = new ActionRegistry().register(insertBucketAction).register(mqttPublishAction)
    .register(notificationAction(notifications))
    .register(emailAction(mailer, inspector, logger.child({ part: "email" }), admitEmail))
    .register(postAction(webhooks, webhookGuard))
    .register(scriptAction(analyses));
  const actions = new ActionService(store.actions, registry, (err) => logger.error({ err }, "storing an action's run time failed"), config.pipeline.actionTopicCacheBytes);
  await actions.load();

  // The pipeline needs the broker to publish, and the broker needs the pipeline's hook.
  let broker: Broker | undefined;
  let relays: RelayService | undefined;
  // Interval and schedule actions, report schedules and relays run on one node of a cluster on a
  // shared store: the one holding each kind's lease (docs/cluster.md, "Once cluster-wide"). A
  // node on PostgreSQL without `--cluster` is alone: its work is its own from the start.
  const leases: Leases = store.postgres && config.cluster.url !== ""
    ? new PgLeases({
      url: config.postgres.url, nodeId: config.cluster.nodeId || hostname(), retryMs: config.cluster.leaseRetryMs,
      timeoutMs: config.cluster.leaseTimeoutMs, logger: logger.child({ part: "singleton" }),
    })
    : new LocalLeases();
  let downlinks: RelayDownlinkBus | undefined;
  const paramsOf = async (deviceId: string) => (await params.list(deviceId)).map(({ key, value, sent }) => ({ key, value, sent }));
  // Messages Sluice makes itself (actions, analyses, relays): no properties, no expiry, no publisher.
  const made = (m: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean }): Message => ({ ...m, properties: undefined, expiresAt: undefined, publisher: undefined });
  const ofDevice = (deviceId: string) => (client: ClientInfo) => (client.principal as { deviceId?: string }).deviceId === deviceId;
  // In a cluster, a message for one device also goes to the device's sessions on the other nodes.
  let targeted: TargetedDelivery | undefined;
  const publish: ActionServices["publish"] = (accountId, m, deviceId) => {
    broker!.inject(accountId, made(m), deviceId ? ofDevice(deviceId) : undefined);
    if (deviceId && targeted && !targeted.send(accountId, deviceId, m)) logger.warn({ deviceId, topic: m.topic }, "a device's message reached this node's sessions only (the bus is unreachable or the message too large for it)");
    // A device served by an MQTT relay also gets it on the relay's external broker.
    // In a cluster, the node running the relays may be another one: forwarded to it.
    const viaRelays = !deviceId ? undefined : relays?.leading || !downlinks ? relays?.downlink(accountId, deviceId, m) : downlinks.forward({ accountId, deviceId, ...m });
    viaRelays?.catch((err) => logger.error({ err, deviceId }, "relay downlink failed"));
  };
  // Messages the API publishes (analyses' MQTT service, control widgets): counted like a device's
  // publish, or the API would be a way around the plan's rate.
  const admittedPublish: ActionServices["publish"] = (accountId, m, deviceId) => {
    Limits.enforce(limits.admitPublish(accountId, m.payload.length));
    publish(accountId, m, deviceId);
  };
  const devices = new DeviceCache(identity, { maxBytes: config.pipeline.deviceCacheBytes });
  const pipeline = new Pipeline({
    actions, registry, buckets, sandbox, inspector, devices, logger: logger.child({ part: "pipeline" }), paramsOf,
    admitRecords: (accountId, n) => limits.admitRecords(accountId, n),
    services: { buckets, publish },
  });
  identity.on("deviceChanged", ({ deviceId, deleted, remote }: { deviceId: string; deleted?: boolean; remote?: boolean }) => {
    if (deleted) {
      inspector.forget(deviceId);
      // Told by another node of a cluster: that node dropped it from the shared store.
      if (!remote || !store.postgres) buckets.dropDevice(deviceId).catch((err) => logger.error({ err, deviceId }, "dropping a deleted device's bucket failed"));
    }
  });
  const pull = new PullRequests({
    buckets, inspector,
    reply: (accountId, deviceId, message) => broker!.inject(accountId, message, ofDevice(deviceId)),
  });
  // Nodes on one PostgreSQL read the shared monthly counters back (limits.ts, sharedCounters), so
  // the timers' node sees every crossing, its own counting's or a read-back's: it alone tells them,
  // once cluster-wide (docs/cluster.md, "Once cluster-wide").
  monthlyAlertsHere = () => leases.held("timers");
  usageAlerts = (accountId, step) => {
    for (const { action, row } of crossedUsageAlerts(actions.list(accountId), step)) {
      void pipeline.runForEvent(action, { kind: "usage_alert", reason: `${step.service} at ${row.condition_value}% of ${step.limit} (${step.after} used)` });
    }
  };
  identity.on("deviceCreated", ({ accountId }: { accountId: string }) => {
    identity.countDevices(accountId).then(
      (n) => usageAlerts(accountId, { service: "device", before: n - 1, after: n, limit: limits.planOf(accountId).devices }),
      (err) => logger.warn({ err }, "counting devices for usage alerts failed"),
    );
  });
  const timers = new TimerTriggers((action) => void pipeline.runTimed(action), logger);
  const deviceEvents = new DeviceEventTriggers({
    actions, devices, logger: logger.child({ part: "device-events" }),
    run: (device, matched, event) => pipeline.runDeviceEvent(device, matched, event),
  });

  broker = new Broker({
    limits: config.mqtt,
    hooks: composeHooks(
      createBrokerHooks({ identity, acl: new Acl(config.acl), allowAnonymous: config.allowAnonymous }),
      mqttAdmission({ limits, flapping, inspector, ...(sharedLimits && { shared: sharedLimits.connections }) }),
      inspectorBrokerHooks(inspector),
      deviceEvents.hooks(),
      presence.hooks(),
      {
        published: (event) => {
          const p = event.client?.principal as { accountId?: string; deviceId?: string } | undefined;
          // A will is the broker speaking for a device that is gone, not an input from it.
          if (p?.accountId && p.deviceId && event.origin === "client") lastInputs.record(p.accountId, p.deviceId);
          return pull.handle(event) ?? pipeline.published(event);
        },
      },
    ),
    logger: logger.child({ part: "mqtt" }),
    store: store.broker,
    sysInterval: config.sysInterval,
    authFailureDelayMs: config.authFailureDelayMs,
    authFailureDelayMaxMs: config.authFailureDelayMaxMs,
  });
  metrics.bindBroker(broker);
  // Without `cluster.url` nothing of the cluster is built: the broker runs as one node.
  const cluster = config.cluster.url === "" ? undefined : new ClusterNode({
    url: config.cluster.url, nodeId: config.cluster.nodeId || hostname(), ackTimeoutMs: config.cluster.ackTimeoutMs, heartbeatMs: config.cluster.heartbeatMs,
    logger: logger.child({ part: "cluster" }),
  });
  if (cluster) {
    broker.attachCluster(cluster);
    metrics.bindCluster(cluster.stats, () => cluster.available);
  }
  // Revocations, cache invalidations and events reach every node (docs/cluster.md).
  const services = cluster && startClusterServices(cluster, {
    identity, actions, params, limits, hub: events, inspector, refreshMs: config.cluster.interestRefreshMs, logger: logger.child({ part: "cluster" }),
    presence, presenceWaitMs: config.cluster.presenceWaitMs, ...(sharedLimits && { otherNodes: () => sharedLimits.connections.liveNodes - 1 }),
    historyWaitMs: config.cluster.historyWaitMs, historyMaxReplyBytes: config.cluster.historyMaxReplyBytes,
  });
  if (services) params.onChanged = (deviceId) => services.control.paramsChanged(deviceId);
  if (services) inspector.onSwitched = (deviceId, on) => services.control.inspectorSwitched(deviceId, on);
  targeted = cluster && new TargetedDelivery(cluster, (accountId, deviceId, m) => broker!.inject(accountId, made(m), ofDevice(deviceId)));
  targeted?.start();
  disconnectOnRevocation(identity, broker);
  identity.startExpiryWatch();
  // A cluster on PostgreSQL: only this node's own sessions load (docs/cluster.md).
  const shared = cluster && liveness && store.postgres ? SharedSessions.open({ config: config.cluster, liveness, store: store.postgres.broker, broker, cluster, logger: logger.child({ part: "cluster" }) }) : undefined;
  await broker.start();
  // Connects in the background: MQTT clients get CONNACK 0x88 until NATS answers, HTTP serves meanwhile.
  cluster?.start(broker);
  shared?.start();
  if (shared) metrics.bindSessionMoves(shared.handoff.stats);

  const relaySecrets = RelaySecrets.open(config.relaySecret, dataDir);
  if (relaySecrets.generated) logger.info({ path: relaySecrets.generated }, "generated the key for relay credentials; keep this file with the database");
  relays = new RelayService({
    repo: store.relays,
    secrets: relaySecrets.secrets,
    ingest: (device, topic, payload, via) => {
      lastInputs.record(device.accountId, device.id);
      return pipeline.fromRelay(device, topic, payload, via);
    },
    route: (accountId, m) => broker!.inject(accountId, made(m)),
    device: (accountId, deviceId) => devices.get(accountId, deviceId),
    inspector,
    logger: logger.child({ part: "relay" }),
    guard: relayGuard,
    statusChanged: (accountId, event) => events.publish(accountId, "relay_state", event),
    connects: leases.held("relays"),
    admitRelay(accountId, existing) {
      const plan = limits.planOf(accountId);
      if (!plan.features.relay) throw new LimitExceeded("features.relay", "the account's plan has no MQTT relays");
      if (existing >= plan.relays) throw new LimitExceeded("relays", `the plan's ${plan.relays} relays exist already`);
    },
  });
  identity.on("deviceChanged", () => relays?.devicesChanged());
  await relays.start();
  // A downlink raised on a node not running the relays goes to the one that does (over NATS).
  if (cluster && store.postgres) downlinks = new RelayDownlinkBus({ connection: () => cluster.connection, timeoutMs: config.cluster.ackTimeoutMs, logger: logger.child({ part: "relay" }) });
  bindSingletons(leases, {
    timers: { sync: (list) => timers.sync(list), actions }, reports, relays, logger,
    downlinks: downlinks && downlinks.serving(relays),
  });

  const tls = await loadTlsMaterial(dataDir, config.tlsCert, config.tlsKey);
  if (tls.selfSigned) logger.info({ cert: tls.certPath }, "using a self-signed TLS certificate");

  // Dashboards: their store, widget data over the buckets, live updates from every committed insert.
  const dashboards = new DashboardService({
    repo: store.dashboards,
    limits: config.dashboards,
    admitDashboard(accountId, existing) {
      const plan = limits.planOf(accountId);
      if (existing >= plan.dashboards) throw new LimitExceeded("dashboards", `the plan's ${plan.dashboards} dashboards exist already`);
    },
  });
  const accountDevices = new AccountDevices(identity);
  const widgetData = new WidgetData({
    buckets, identity, devices: accountDevices, maxSkip: config.data.maxSkip, maxPageBytes: config.data.maxPageBytes,
    ingest: (principal, body) => pipeline.fromHttp(principal, body),
  });
  const dashboardLive = new DashboardLive({
    hub: events, dashboards, devices: accountDevices, identity,
    eventsPerSecond: config.dashboards.liveEventsPerSecond, recordsPerEvent: config.dashboards.liveRecordsPerEvent,
    onError: (err) => logger.error({ err }, "preparing a live dashboard failed"),
  });
  buckets.onInserted(dashboardLive.stored);
  const chartWarmer = new ChartWarmer({
    dashboards, buckets, hub: events, horizonMs: 366 * 86_400_000,
    owns: (accountId, deviceId) => identity.getDevice(accountId, deviceId).then(() => true, () => false),
    onError: (err) => logger.error({ err }, "preparing a dashboard's charts failed"),
  });

  // Record reads take turns between accounts; on PostgreSQL they leave two pooled connections to writes.
  const recordReads = new FairReads({
    concurrency: store.kind === "postgres" ? Math.max(1, Math.min(config.data.readsConcurrency, config.postgres.poolSize - 2)) : config.data.readsConcurrency,
    perAccount: config.data.readsPerAccount, waitingPerAccount: config.data.readsWaitingPerAccount,
  });
  const servers: Server[] = [];
  let mqttListeners: MqttListenersJson | undefined;
  const http = await createHttpServer({
    identity, metrics, logger: logger.child({ part: "http" }),
    sessions, tls,
    queryBounds: { maxBytes: config.http.maxQueryBytes, maxParameters: config.http.maxQueryParameters, maxDepth: config.http.maxQueryDepth },
    connectionBounds: config.http,
    maxResponseBytesInFlight: config.http.maxResponseBytesInFlight,
    corsOrigins: config.http.corsOrigins,
    consoleImageSources: config.http.consoleImageSources,
    shareFrameAncestors: config.dashboards.shareFrameAncestors,
    admit: httpAdmission({ limits, identity, inspector }),
    deviceState: {
      connected: (id) => presence.connected(id), pendingLastInput: (id) => lastInputs.pending(id),
      ...(services && { connectedElsewhere: (ids: readonly string[]) => services.presence.connectedElsewhere(ids) }),
    },
    mqttListeners: () => mqttListeners,
    routes: {
      account: [
        accountRoutes({
          identity, limits,
          broker: (accountId) => {
            const stats = broker!.statsOf(accountId);
            return { connections: stats?.connected ?? 0, subscriptions: stats?.subscriptions ?? 0 };
          },
        }),
        actionRoutes({ actions }),
        deadLetterRoutes({ actions, deadLetters }),
        notificationRoutes({ notifications }),
        accountDeviceDataRoutes({ identity, buckets }),
        accountDataRoutes({ identity, buckets, reads: recordReads, ingest: ingestHttp, maxSkip: config.data.maxSkip, maxPageBytes: config.data.maxPageBytes }),
        accountParamRoutes({ identity, params }),
        inspectorRoutes({ identity, inspector, history: services?.history }),
        parserTestRoutes({ identity, sandbox, paramsOf }),
        analysisRoutes({ analyses, console: analysisConsole }),
        analysisServiceRoutes({
          analyses, console: analysisConsole, identity,
          publish: admittedPublish,
          notify: (accountId, notification) => notifications.send(accountId, notification),
          email: (accountId, mail) => {
            admitEmail(accountId);
            return mailer.send(accountId, mail);
          },
          attachmentLimits: mailer.attachmentLimits,
          pdfMaxInputBytes: config.pdf.maxInputBytes,
          async pdf(accountId, body) {
            // Off says so whatever the body: how to turn it on is the useful answer.
            const why = pdf.unavailable();
            if (why !== undefined) throw new PdfUnavailable(why);
            const result = await pdf.render(accountId, parsePdfRequest(body, config.pdf.maxInputBytes));
            return result.pdf.toString("base64");
          },
          attachments: {
            upload: (accountId, body) => reports.uploadAttachment(accountId, body),
            get: (accountId, id) => reports.attachment(accountId, id),
          },
        }),
        reportRoutes({ reports }),
        relayRoutes({ relays }),
        profileRoutes({ identity, planOf: (accountId) => limits.planOf(accountId).name }),
        userRoutes({ identity, users, throttle: loginThrottle }),
        dashboardRoutes({ dashboards, widgetData, identity }),
        widgetDataRoutes({ dashboards, widgetData, identity }),
        widgetPublishRoutes({ dashboards, widgetData, publish: admittedPublish }),
      ],
      device: [
        dataRoutes({ buckets, reads: recordReads, ingest: ingestHttp, maxSkip: config.data.maxSkip, maxPageBytes: config.data.maxPageBytes }),
        deviceParamRoutes({ params }),
      ],
      public: [
        inspectorStreamRoutes({ identity, inspector, sessions, history: services?.history, sse: { maxBufferedBytes: config.inspector.maxStreamBufferedBytes } }),
        loginRoutes({ identity, users, sessions, throttle: loginThrottle, setupCompleted: () => removeSetupLink(setupLinkPath) }),
        deviceSelfRoutes({
          identity, metrics,
          async analysisInfo(token) {
            const analysis = await analyses.byToken(token);
            return analysis && analyses.info(analysis.accountId, analysis.id);
          },
        }),
        shareRoutes({
          dashboards, widgetData, hub: events,
          requestsPerMinute: config.dashboards.shareRequestsPerMinute, streamsPerKey: config.dashboards.shareStreamsPerKey,
          reads: { concurrency: config.dashboards.shareReadsConcurrency, perKey: config.dashboards.shareReadsPerKey, waitingPerKey: config.dashboards.shareReadsWaitingPerKey },
        }),
        eventRoutes({
          hub: events,
          revocations: identity,
          sessions,
          async resolveToken(token) {
            const principal = await identity.authenticateAccountToken(token);
            if (principal === undefined) return undefined;
            const { accountId, tokenId, analysisId } = principal;
            return analysisId === null ? { accountId, tokenId } : { accountId, tokenId, analysisId };
          },
        }),
      ],
    },
  });
  // Listeners first, then the broker (its DISCONNECTs), then the stores the rest writes to.
  const shutdown = async () => {
    for (const s of servers) s.close();
    // First: its locks go with it, so another node takes the singletons over at once.
    await leases.stop();
    reports.stop();
    await deviceEvents.stop();
    analyses.stop();
    analysisWorkspace.dispose();
    await relays?.stop();
    shared?.handoff.stop();
    await broker.stop();
    // After the sessions are written: the other nodes take them over once the lock is free.
    await liveness?.stop();
    services?.stop();
    targeted?.stop();
    await cluster?.stop();
    await sharedLimits?.stop();
    await lastInputs.stop();
    await http.close();
    buckets.onInserted(undefined);
    chartWarmer.close();
    dashboardLive.close();
    timers.stop();
    await webhooks.stop();
    await pdf.close();
    mailer.close();
    await actions.stop();
    identity.stop();
    sessions.stop();
    await limits.stop();
    flapping.stop();
    await sandbox.close();
    await store.close();
    releasePid();
  };
  try {
    servers.push(await listening("MQTT", "mqtt-port", config.host, config.mqttPort, listenTcp(broker, config.host, config.mqttPort)));
    servers.push(await listening("MQTT over TLS", "mqtts-port", config.host, config.mqttsPort, listenTls(broker, config.host, config.mqttsPort, tls)));
    servers.push(await listening("MQTT over WebSocket", "ws-port", config.host, config.wsPort, listenWebSocket(broker, config.host, config.wsPort, config.wsPath)));
    servers.push(await listening("MQTT over secure WebSocket", "wss-port", config.host, config.wssPort, listenWebSocket(broker, config.host, config.wssPort, config.wsPath, tls)));
    await listening("HTTP API", "http-port", config.host, config.httpPort, http.listen({ host: config.host, port: config.httpPort }));
    // The same app over TLS; listened here because Fastify listens only its own server.
    servers.push(await listening("HTTPS API", "https-port", config.host, config.httpsPort, listen(httpsServerOf(http)!, config.host, config.httpsPort)));
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
    https: portOf(servers[4]!),
  };
  // The ports actually listened on (0 in the config means one chosen by the system).
  ownListeners.setPorts([ports.mqtt, ports.mqtts, ports.ws, ports.wss]);
  mqttListeners = { tcp: ports.mqtt, tls: ports.mqtts, ws: ports.ws, wss: ports.wss, ws_path: config.wsPath };
  apiUrl = `http://${loopbackHost(config.host)}:${ports.http}`;
  await writeFile(join(dataDir, "ports.json"), `${JSON.stringify(ports)}\n`);
  sessions.startExpiryWatch();
  // The admin's first user and its setup link: the URL needs the port just bound.
  if (adminAccountId !== undefined) {
    await prepareAdminSetup({
      users, adminAccountId, email: config.users.adminEmail, file: setupLinkPath, logger,
      linkFor: (token) => `http://${loopbackHost(config.host)}:${ports.http}/#/setup/${token}`,
    }).catch((err) => logger.error({ err }, "preparing the admin user's setup link failed"));
  }
  // Schedules fire once the API they may print (a dashboard's share page) answers.
  if (leases.held("reports")) await reports.start();
  leases.start();
  logStartup(logger, { host: config.host, wsPath: config.wsPath, ports, dataDir, adminTokenPath, adminCreated: admin !== null, adminTokenFound, sharedStore: config.postgres.url !== "" });

  let closing: Promise<void> | undefined;
  return {
    config, ports, broker, cluster, sharedSessions: shared, events, limits, inspector, identity, metrics, logger, adminToken: admin?.token, httpRoutes: registeredRoutes(http), users, sessions,
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

/**
 * Where everything is, once every listener is up: the URLs with the ports actually bound, where
 * the admin token is. "sluice is up" comes last, so whoever waits for it has the lines before.
 */
function logStartup(logger: Logger, s: { host: string; wsPath: string; ports: Ports; dataDir: string; adminTokenPath: string; adminCreated: boolean; adminTokenFound: boolean; sharedStore: boolean }): void {
  const host = loopbackHost(s.host);
  const path = s.wsPath.startsWith("/") ? s.wsPath : `/${s.wsPath}`;
  const line = (label: string, urls: string[]) => logger.info({ urls }, `${label.padEnd(10)} ${urls.join("  ")}`);
  line("MQTT", [`mqtt://${host}:${s.ports.mqtt}`, `mqtts://${host}:${s.ports.mqtts}`]);
  line("WebSocket", [`ws://${host}:${s.ports.ws}${path}`, `wss://${host}:${s.ports.wss}${path}`]);
  line("Console", [`http://${host}:${s.ports.http}/`, `https://${host}:${s.ports.https}/`]);
  line("HTTP API", [`http://${host}:${s.ports.http}`, `https://${host}:${s.ports.https}`]);
  line("API docs", [`http://${host}:${s.ports.http}/api/docs`]);
  if (s.adminTokenFound) logger.info({ path: s.adminTokenPath }, s.adminCreated ? `created the admin account; its token is in ${s.adminTokenPath}` : `admin token in ${s.adminTokenPath}`);
  else if (s.sharedStore) logger.info({ path: s.adminTokenPath }, "the admin account exists in the shared store: its token is in the admin-token file of the node that made it");
  else logger.warn({ path: s.adminTokenPath }, `no admin token file at ${s.adminTokenPath}: it was removed after the admin account was created`);
  // A wildcard host listens on every address, and the URLs above name the loopback one: say so.
  logger.info(host === s.host ? { dataDir: s.dataDir } : { host: s.host, dataDir: s.dataDir }, "sluice is up");
}

/** How a local process reaches a server listening on `host`: a wildcard address means loopback. */
function loopbackHost(host: string): string {
  if (host === "" || host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * A listener that cannot start (the port taken, a privileged port) as one line that names it,
 * the address, and the flag and environment variable that move it, instead of a stack trace.
 */
async function listening<T>(name: string, flag: string, host: string, port: number, started: Promise<T>): Promise<T> {
  try {
    return await started;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "EADDRINUSE" ? "the port is in use" : code === "EACCES" ? "permission denied" : (err as Error).message;
    const env = `SLUICE_${flag.toUpperCase().replace(/-/g, "_")}`;
    throw new SluiceError("LISTEN_FAILED", `${name} cannot listen on ${host}:${port}: ${why}; choose another port with --${flag} or ${env}`);
  }
}
