/**
 * Every configurable bound of Sluice lives here, with its default. `docs/configuration.md`
 * documents each key; keep the two in step.
 */
import type { PlanConfig } from "../limits/plans.js";

export type AclAction = "publish" | "subscribe";

/** How logs are written: `pretty` lines for a person, JSON lines for machines, `auto` = pretty on a terminal. */
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface AclRule {
  /** `allow` or `deny`; the first rule whose filter matches decides. */
  effect: "allow" | "deny";
  action: AclAction | "all";
  /** An MQTT topic filter (`+`/`#`); `%a` stands for the account id, `%d` for the device id. */
  filter: string;
}

export interface MqttLimits {
  /** Largest packet accepted from or sent to a client, in bytes. */
  maxPacketSize: number;
  /** Upper bound on the keep alive a client may ask for (seconds); 0 = no bound. */
  maxKeepAlive: number;
  /** Time a fresh socket has to send CONNECT, in ms. */
  connectTimeoutMs: number;
  /** How many QoS 1/2 PUBLISH a client may have unacknowledged towards the broker. */
  receiveMaximum: number;
  /** How many QoS 1/2 PUBLISH the broker keeps in flight towards one client at most. */
  maxInflight: number;
  /** Topic aliases the broker accepts from a client (5.0). */
  topicAliasMaximum: number;
  /** Bytes of topics the aliases of one connection hold, each direction (2 a character). */
  maxTopicAliasBytes: number;
  /** Offline / overflow queue bounds per session. */
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  /**
   * Sessions that outlive their connection (3.1.1 cleanSession=false, 5.0 Session Expiry
   * Interval > 0), online or offline, per account and per device, whatever the plan says. A
   * CONNECT that would create one more is refused (CONNACK 0x97; 3.1.1: 0x03).
   */
  maxSessionsPerAccount: number;
  maxSessionsPerDevice: number;
  /** Upper bound on a 5.0 session expiry interval, seconds. */
  maxSessionExpiry: number;
  /** Session expiry used for 3.1.1 clean-session=false clients, seconds. */
  legacySessionExpiry: number;
  /**
   * Bytes buffered in one client's socket beyond which QoS 0 messages to it are dropped and
   * QoS 1/2 wait in its session queue.
   */
  maxSocketBufferBytes: number;
  /**
   * Subscriptions one session holds, whatever the plan allows: filters past it are refused
   * (SUBACK 0x97; 3.1.1: 0x80). Overlapping filters make every matching publish cost that many.
   */
  maxSubscriptionsPerSession: number;
  /**
   * Event-loop time, ms, one connection's packets may take in one turn before the rest of its
   * read waits for the next turn (checked every few hundred units of routing work: messages
   * routed + subscriptions they matched).
   */
  maxTurnMs: number;
  /** Retained messages per account. */
  maxRetainedPerAccount: number;
  /** The same, in approximate bytes held (topic, payload, properties, trie nodes). */
  maxRetainedBytesPerAccount: number;
  /** Levels of a topic name or filter (PUBLISH, SUBSCRIBE, will, retained); deeper is refused. */
  maxTopicLevels: number;
  /** Bytes of subscription-match results cached, for all namespaces together. */
  matchCacheBytes: number;
  /** Sockets accepted whose CONNECT is not yet answered with success, in all. */
  maxPendingConnections: number;
  /** The same, per remote address. */
  maxPendingConnectionsPerAddress: number;
  /** Largest CONNECT packet, bytes: what an unauthenticated socket may make the broker buffer. */
  maxConnectPacketSize: number;
  /** Bytes written to all clients' sockets and not yet taken by the kernel, in all. */
  maxBufferedBytesTotal: number;
}

export interface SluiceConfig {
  dataDir: string;
  host: string;
  mqttPort: number;
  mqttsPort: number;
  wsPort: number;
  /** MQTT over secure WebSocket; same path as `wsPath`. */
  wssPort: number;
  wsPath: string;
  httpPort: number;
  /** The same HTTP API over TLS (the MQTTS certificate and key). */
  httpsPort: number;
  allowAnonymous: boolean;
  tlsCert?: string;
  tlsKey?: string;
  logLevel: string;
  /** `auto`: pretty when stdout is a terminal, JSON lines otherwise. */
  logFormat: LogFormat;
  mqtt: MqttLimits;
  acl: AclRule[];
  /** Failed-auth delay: base ms, doubled per recent failure from the same address, capped. */
  authFailureDelayMs: number;
  authFailureDelayMaxMs: number;
  /** How often $SYS statistics are published, seconds; 0 = never. */
  sysInterval: number;
  /** Analyses run by Sluice (docs/analysis.md). */
  analysis: AnalysisLimits;
  /**
   * Account plans by name, on top of the built-in free, starter, scale and unlimited
   * (limits/plans.ts): a plan given here overrides or extends them (`extends: "starter"`).
   */
  plans: Record<string, PlanConfig>;
  /** The plan of accounts that were not given one. */
  defaultPlan: string;
  notifications: NotificationLimits;
  webhooks: WebhookPolicy;
  smtp: SmtpConfig;
  /**
   * Key for relay credentials at rest (docs/relay.md): 64 hex digits, or a passphrase of 16+
   * characters. Empty: a key generated into `<dataDir>/relay-secret` (mode 0600) is used.
   */
  relaySecret: string;
  /** What webhooks, relays and analyses may connect to (docs/security.md). */
  outbound: OutboundPolicy;
  /** Bounds on what one HTTP request may make the API parse. */
  http: HttpLimits;
  /** How long payload parsers may hold the event loop (docs/parsers.md). */
  parsers: ParserLoopLimits;
  /** Live inspector streams (`GET /device/:id/inspector/stream`). */
  inspector: InspectorStreamLimits;
  /** `GET /data` and `DELETE /data` bounds. */
  data: DataQueryLimits;
  /** Caches on the message path, in bytes. */
  pipeline: PipelineCacheLimits;
  /** Users who sign in with an email and a password (docs/accounts.md, "Users"). */
  users: UserSettings;
  /** Sign-in sessions (the `sluice_session` cookie; docs/security.md, "Sessions"). */
  sessions: SessionSettings;
  /** Failed sign-ins, per address and per email (docs/security.md). */
  login: LoginThrottleSettings;
  /** PDF rendering by headless Chromium: the analyses' PDF service and reports (docs/reports.md). */
  pdf: PdfConfig;
  /** Reports without code (docs/reports.md). */
  reports: ReportLimits;
  /** Dashboards, their widgets, live updates and public links (docs/dashboards.md). */
  dashboards: DashboardLimits;
  /** The PostgreSQL store of a cluster (docs/cluster.md); unused on embedded SQLite. */
  postgres: PostgresSettings;
  /** Several nodes routing MQTT messages over NATS (docs/cluster.md); off while `url` is empty. */
  cluster: ClusterConfig;
}

/** docs/cluster.md, "Routing over NATS". */
export interface ClusterConfig {
  /** NATS server URL(s), comma-separated (`nats://10.0.0.5:4222`); empty: a single node, no NATS. */
  url: string;
  /** This node's name on the bus (letters, digits, `-`, `_`, `.`; at most 64); empty: the host name. */
  nodeId: string;
  /** How long a QoS 1/2 PUBLISH's ack waits for NATS to confirm the message before the client is disconnected unacknowledged. */
  ackTimeoutMs: number;
  /** With a PostgreSQL store: how long a CONNECT waits for the node holding its persistent session to release it. */
  handoffTimeoutMs: number;
  /**
   * With a PostgreSQL store: how often a node looks for dead nodes (their liveness lock free), to
   * take over their persistent sessions and delete their connection rows, and counts the live ones.
   */
  adoptIntervalMs: number;
  /** With a PostgreSQL store: how long a starting node tries to take its liveness lock (a node of the same id may still be going). */
  livenessWaitMs: number;
  /** Between a node's heartbeats on the bus: whether it holds offline persistent sessions, whose copies a QoS 1/2 ack waits for. */
  heartbeatMs: number;
  /** How often a node announces again the `/events` channels and inspector devices it has listeners for (docs/cluster.md, "Events from every node"). */
  interestRefreshMs: number;
  /** How long a device list or page waits at most for the other nodes to say which of its devices they hold connections for. */
  presenceWaitMs: number;
  /** How long a node collects the other nodes' answers for a device's inspector history (docs/cluster.md, "Events from every node"). */
  historyWaitMs: number;
  /** An answer to an inspector history request at most, in bytes of JSON; past it its oldest events are left out. */
  historyMaxReplyBytes: number;
  /** Percent of a plan's per-minute rate all nodes together may spend ahead of their leases from the shared bucket. */
  rateCreditPercent: number;
  /**
   * With a PostgreSQL store: how often a node tries the singleton leases it does not hold
   * (timers, report schedules, relays), and checks the one it holds (cluster/singleton.ts).
   */
  leaseRetryMs: number;
  /** A lease check PostgreSQL does not answer within this drops every lease the node holds. */
  leaseTimeoutMs: number;
}

export interface PostgresSettings {
  /**
   * The PostgreSQL database every node of a cluster shares (`postgres://user:pass@host:5432/sluice`);
   * empty: the embedded SQLite file in the data dir (docs/cluster.md).
   */
  url: string;
  /**
   * Connections one node opens to PostgreSQL at most (store/postgres/pool.ts); callers past it
   * wait for one. PostgreSQL's own `max_connections` must cover every node's pool.
   */
  poolSize: number;
  /**
   * How long a query waits for a connection, from the pool or a new one to the server, before
   * failing as "store unavailable" (HTTP 503, CONNACK 0x88): short, so that while PostgreSQL is
   * down clients get their answer quickly instead of waiting with the node (docs/cluster.md).
   */
  connectTimeoutMs: number;
}

export interface UserSettings {
  /** Email of the admin account's first user, made on first start with a one-time setup link. */
  adminEmail: string;
  /** How long a setup link stays valid, seconds. */
  setupLinkSeconds: number;
  /** Users per account; one more is refused (403). */
  maxPerAccount: number;
  /**
   * Password hashes (scrypt, 32 MiB and ~0.1 to 0.2 s of a libuv thread each) computed at once;
   * others wait. Bounds the memory and the threads sign-ins may take.
   */
  hashConcurrency: number;
  /** Password hashes waiting for a slot; one more is refused (503 BUSY). */
  hashQueue: number;
}

export interface SessionSettings {
  /** A session not used for this long ends, seconds. */
  idleSeconds: number;
  /** A session ends this long after its sign-in whatever its use, seconds (the cookie's Max-Age). */
  maxAgeSeconds: number;
  /** Sessions one user holds; a sign-in past it ends the user's oldest. */
  maxPerUser: number;
}

export interface LoginThrottleSettings {
  /**
   * After a failed sign-in the same address, and the same email, may try again after this,
   * doubled per recent failure and capped at `failureDelayMaxMs`; sooner is refused (429).
   */
  failureDelayMs: number;
  failureDelayMaxMs: number;
  /** Addresses and emails with failures remembered (each ~100 bytes); past it the oldest are forgotten. */
  maxTracked: number;
}

/**
 * The PDF service (`Services.PDF.generate`, reports): one shared headless Chromium, a page per
 * job, jobs shared fairly by accounts (limits/fair_queue.ts). See docs/reports.md.
 */
export interface PdfConfig {
  /** Chromium's executable; empty, or a path that is not there, turns PDF features off (503 saying so). */
  chromiumPath: string;
  /** Jobs rendering at once, all accounts together (each a page of the shared browser). */
  concurrency: number;
  /** Jobs of one account rendering at once. */
  concurrencyPerAccount: number;
  /** Jobs waiting for a page, all accounts together; one more is refused (429). */
  maxWaiting: number;
  /** Jobs of one account waiting; one more of that account is refused (429), no one else's. */
  maxWaitingPerAccount: number;
  /** Time one job may take once it has a page (fetching a `url`, loading, printing), ms. */
  timeoutMs: number;
  /** Bytes of HTML a job may give (`html`, `base64` decoded, or what `url` answers). */
  maxInputBytes: number;
  /** Bytes of PDF a job may produce; past it the job fails (413). */
  maxOutputBytes: number;
  /** Pages a job may produce; past it the job fails (413). */
  maxPages: number;
  /** The browser is closed after this long without a job, ms (started again at the next one). */
  idleMs: number;
}

/** Report definitions and the files they keep (docs/reports.md). */
export interface ReportLimits {
  /** Report definitions per account; one more is refused (403). */
  maxPerAccount: number;
  /** Files kept per account (report PDFs and CSVs, uploaded attachments); past it the oldest go. */
  maxFilesPerAccount: number;
  /** Bytes of those files per account; past it the oldest go (a single larger file is refused). */
  maxFileBytesPerAccount: number;
  /** Records one report run reads, all its devices and variables together; the rest is left out (said in the report). */
  maxRecords: number;
  /** Report runs at once, all accounts together; scheduled runs past it wait their turn. */
  concurrency: number;
  /** Report runs of one account at once. */
  concurrencyPerAccount: number;
  /** Shortest time between two runs a schedule may ask for, seconds. */
  minIntervalSeconds: number;
}

/** See docs/dashboards.md, "Bounds". */
export interface DashboardLimits {
  /** Dashboards per account whatever its plan allows (the plan's `dashboards` may be lower). */
  maxPerAccount: number;
  /** Widgets one dashboard may hold. */
  maxWidgetsPerDashboard: number;
  /** Bytes of one widget's JSON definition (its `display`, `data` sources and the rest). */
  maxWidgetBytes: number;
  /** Bytes of one dashboard's own JSON (label, arrangement, tabs, blueprint devices...), widgets apart. */
  maxDashboardBytes: number;
  /** Requests one public link (`/share/:key/...`) may make per minute; past it 429. */
  shareRequestsPerMinute: number;
  /** Live streams open at once on one public link; past it 429. */
  shareStreamsPerKey: number;
  /** Widget data reads running at once for all public links, and for one link; the rest wait in turn. */
  shareReadsConcurrency: number;
  shareReadsPerKey: number;
  /** Widget data reads of one public link waiting for a slot; past it 429. */
  shareReadsWaitingPerKey: number;
  /** Live events one dashboard's channel sends per second at most; records in between are batched. */
  liveEventsPerSecond: number;
  /** Records one live event carries at most; past it the rest is dropped and counted in `dropped`. */
  liveRecordsPerEvent: number;
  /**
   * Who may frame the public share view (`/view`): its Content-Security-Policy `frame-ancestors`
   * sources. `*` (default): any site, since a public link is meant to be embedded; `'none'`:
   * no site; or origins (`https://intranet.example.com`, `https://*.example.com`).
   */
  shareFrameAncestors: string[];
}

/** Caches the message path reads instead of the store; each bounded in (approximate) bytes. */
export interface PipelineCacheLimits {
  /** Device rows (tags, parser script, extras), all accounts together. */
  deviceCacheBytes: number;
  /** Device params (`device.params` of parsers), all devices together. */
  paramCacheBytes: number;
  /** Topic → mqtt_topic actions lists, all accounts together (a topic is up to 64 KiB). */
  actionTopicCacheBytes: number;
}

/** See docs/parsers.md, "Where a parser runs". */
export interface ParserLoopLimits {
  /** How long one message may run on the event loop before it is moved to a thread, ms; 0 = always on threads. */
  loopSliceMs: number;
  /**
   * Milliseconds of one turn of the event loop parsers may take before the next call into an
   * isolate waits for the next turn; a turn then holds the loop for parsers at most
   * `maxBatchMs + 2 × loopSliceMs`.
   */
  maxBatchMs: number;
  /** Device isolates kept alive; past it the least recently used idle one is disposed. */
  maxIsolates: number;
  /** Heap limit of one device isolate, MB; past it the isolate is disposed and the run fails. */
  memoryMb: number;
  /** Time limit of one parser run, ms. */
  timeoutMs: number;
}

export interface InspectorStreamLimits {
  /** Open inspector streams per account; past it a new one is refused (429). */
  maxStreamsPerAccount: number;
  /** Bytes one stream may leave unread; past it events are dropped (counted) until it drains. */
  maxStreamBufferedBytes: number;
  /** Approximate bytes of all devices' event rings together; past it rings not used lately go. */
  maxTotalBytes: number;
  /** Devices with an event ring; past it a ring not used lately goes. */
  maxDevices: number;
  /** Events kept per device (each at most ~1.3 kB: its detail is bounded). */
  maxEventsPerDevice: number;
}

export interface DataQueryLimits {
  /** Largest `skip` accepted; past it 400. */
  maxSkip: number;
  /**
   * Largest page of records `GET /data` and `GET /device/:id/data` answer, in bytes of JSON
   * (estimated from the stored columns as rows are read); past it the page is cut (at least one
   * record) and marked `X-Sluice-Truncated: bytes`.
   */
  maxPageBytes: number;
  /**
   * Bytes of hour summaries kept in memory for `query=downsample` (data/sqlite/downsample_slots.ts):
   * a chart asked again reads the records of its buckets' edges only. 0: none kept.
   */
  downsampleCacheBytes: number;
  /**
   * Record reads (`GET /data`, `GET /device/:id/data`) running at once on a node, all accounts
   * together, shared round-robin between accounts (data/fair_reads.ts). On PostgreSQL at most
   * `postgres.poolSize` - 2, so writes always find a connection.
   */
  readsConcurrency: number;
  /** Record reads of one account running at once. */
  readsPerAccount: number;
  /** Record reads of one account waiting for a slot; past it 429. */
  readsWaitingPerAccount: number;
}

/** Refused with 400 past any of these; see docs/configuration.md. */
export interface HttpLimits {
  /** Characters of a query string (after `?`). */
  maxQueryBytes: number;
  /** `&`-separated query parameters. */
  maxQueryParameters: number;
  /** Bracket levels of one query key: `filter[tags][0][key]` is 3. */
  maxQueryDepth: number;
  /**
   * Open connections to the HTTP port, in all and per remote address (SSE streams included);
   * past either a new socket is closed at once. Keeps the process's file descriptors for others.
   */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /**
   * A request's headers must arrive within this (a socket that sends nothing is closed at it
   * too); 0 = no limit.
   */
  headersTimeoutMs: number;
  /** A whole request (headers and body) must arrive within this; the response may take longer (SSE). 0 = no limit. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /**
   * A connection on which nothing moves for this long is closed, a response in progress
   * included: a client that stops reading its answer would otherwise pin it in memory (SSE
   * streams write a heartbeat more often). 0 = no limit.
   */
  idleTimeoutMs: number;
  /** Bytes of responses being sent, all connections together; past it a large answer gets 503. */
  maxResponseBytesInFlight: number;
  /**
   * Web origins (`https://app.example.com`) whose pages may call the API from a browser (CORS),
   * or `*` for any. Empty: no CORS headers at all, so browsers keep other sites' pages out.
   */
  corsOrigins: string[];
  /**
   * Where the console may load images from besides itself (CSP `img-src` sources): map tiles
   * and image widgets. Default `https:` (any HTTPS host); empty: this server only.
   */
  consoleImageSources: string[];
}

/** Outbound connections made on an account's behalf. */
export interface OutboundPolicy {
  /**
   * Whether loopback, private, link-local (cloud metadata) and other non-public addresses may
   * be reached. True suits one self-hosted user; an operator hosting several accounts sets false.
   * Checked on the address actually connected to, after DNS.
   */
  allowPrivateTargets: boolean;
}

export interface AnalysisLimits {
  /** Analysis processes running at once, all accounts together; further runs wait in the queue. */
  concurrency: number;
  /**
   * Analysis processes of one account running at once: the slots left stay free for the other
   * accounts, whatever one account triggers (a slot is held for a whole run, up to `timeoutMs`).
   */
  concurrencyPerAccount: number;
  /** Runs waiting for a slot, all accounts together; past it a run is refused (429). */
  queueSize: number;
  /** Runs of one account waiting for a slot; past it that account's runs are refused (429), no one else's. */
  queuePerAccount: number;
  /** Wall time of one run, ms; past it the process is killed. */
  timeoutMs: number;
  /**
   * CPU time of one run, seconds, enforced by the kernel (RLIMIT_CPU, through util-linux's
   * `prlimit`): it holds where the wall-time timer cannot, in a process whose Sluice died, and
   * counts V8's helper threads. 0 = none.
   */
  cpuSeconds: number;
  /** Resident memory of one run, MiB (the V8 heap gets 3/4 of it); past it the process is killed. */
  memoryMb: number;
  /** stdout + stderr bytes one run may write; past it the process is killed. */
  outputBytes: number;
  /** Largest script accepted by upload, bytes. */
  scriptBytes: number;
  /** Console lines kept per analysis, and their total bytes. */
  consoleLines: number;
  consoleBytes: number;
  /**
   * When Sluice runs as root, the user and group every analysis process runs as (default
   * 65534:65534, `nobody`/`nogroup`); never 0. Ignored when Sluice is not root (docs/analysis.md).
   */
  runAsUid: number;
  runAsGid: number;
}

/** In-app notifications (`/notification`). */
export interface NotificationLimits {
  /** Notifications kept per account; a new one past it drops the oldest (read or not). */
  maxPerAccount: number;
}

/** Delivery of `post` (webhook) actions. */
export interface WebhookPolicy {
  /** Attempts per delivery, the first included; network errors, 5xx, 408 and 429 are retried. */
  attempts: number;
  /** Delay before the second attempt, doubled for each next one, capped at `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** One attempt's time limit, connection to last byte. */
  timeoutMs: number;
  /** Requests in flight at once, all accounts together. */
  concurrency: number;
  /** Requests of one account in flight at once: an account whose endpoints hang cannot hold every slot. */
  concurrencyPerAccount: number;
  /** Deliveries queued, in flight or waiting for a retry, all accounts together; past it a new one is dead-lettered at once. */
  maxPending: number;
  /** The same for one account: past it that account's new deliveries are dead-lettered, no one else's. */
  maxPendingPerAccount: number;
  /** Failed deliveries kept per account (`GET /action/:id/dead_letters`); the oldest go first. */
  deadLettersPerAccount: number;
}

/** The SMTP server `email` actions and the email service send through; no `host` = email off. */
export interface SmtpConfig {
  host: string;
  port: number;
  /** Implicit TLS (usually port 465); false = plain, upgraded with STARTTLS. */
  secure: boolean;
  /**
   * With `secure` false: STARTTLS is required, so a server (or anyone on the path) that does
   * not offer it fails the send instead of getting the credentials and mail in clear. On by
   * default; off only for a server on the same host or a test sink without TLS.
   */
  requireTLS: boolean;
  /** AUTH credentials; none when `user` is empty. */
  user: string;
  password: string;
  /** The From address of every mail, e.g. `"Sluice <sluice@example.com>"`. */
  from: string;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
  /** SMTP conversations at once, all accounts together: a burst of mails must not open a socket each. */
  concurrency: number;
  /** SMTP conversations of one account at once. */
  concurrencyPerAccount: number;
  /** Mails waiting for a conversation, all accounts together; past it a mail fails with EMAIL_BUSY. */
  maxWaiting: number;
  /** Mails of one account waiting; past it that account's mails fail with EMAIL_BUSY, no one else's. */
  maxWaitingPerAccount: number;
  /** Attachments one mail may carry (the analysis email service, reports); 0 = none. */
  maxAttachments: number;
  /** Bytes of one mail's attachments together, decoded. */
  maxAttachmentBytes: number;
}

export const defaultConfig: SluiceConfig = {
  dataDir: "./data",
  host: "0.0.0.0",
  mqttPort: 1883,
  mqttsPort: 8883,
  wsPort: 8083,
  wssPort: 8084,
  wsPath: "/mqtt",
  httpPort: 8080,
  httpsPort: 8443,
  allowAnonymous: false,
  logLevel: "info",
  logFormat: "auto",
  mqtt: {
    maxPacketSize: 1024 * 1024,
    maxKeepAlive: 3600,
    connectTimeoutMs: 10_000,
    receiveMaximum: 1024,
    maxInflight: 256,
    topicAliasMaximum: 64,
    maxTopicAliasBytes: 64 * 1024,
    maxQueuedMessages: 1000,
    maxQueuedBytes: 16 * 1024 * 1024,
    maxSessionsPerAccount: 1000,
    maxSessionsPerDevice: 32,
    maxSessionExpiry: 7 * 24 * 3600,
    legacySessionExpiry: 7 * 24 * 3600,
    maxSocketBufferBytes: 1024 * 1024,
    maxSubscriptionsPerSession: 1000,
    maxTurnMs: 10,
    maxRetainedPerAccount: 100_000,
    maxRetainedBytesPerAccount: 64 * 1024 * 1024,
    maxTopicLevels: 128,
    matchCacheBytes: 16 * 1024 * 1024,
    maxPendingConnections: 1000,
    maxPendingConnectionsPerAddress: 100,
    maxConnectPacketSize: 64 * 1024,
    maxBufferedBytesTotal: 256 * 1024 * 1024,
  },
  acl: [],
  authFailureDelayMs: 250,
  authFailureDelayMaxMs: 5_000,
  sysInterval: 10,
  analysis: {
    concurrency: 4,
    // Half the slots: one account flooding leaves the other half to everyone else.
    concurrencyPerAccount: 2,
    queueSize: 100,
    queuePerAccount: 25,
    timeoutMs: 60_000,
    cpuSeconds: 120,
    memoryMb: 256,
    outputBytes: 1024 * 1024,
    scriptBytes: 512 * 1024,
    consoleLines: 1000,
    consoleBytes: 1024 * 1024,
    runAsUid: 65534,
    runAsGid: 65534,
  },
  plans: {},
  // A self-hosted single user should not meet a quota by surprise; operators hosting many
  // accounts set this to "free" (or their own plan).
  defaultPlan: "unlimited",
  notifications: { maxPerAccount: 1000 },
  webhooks: { attempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000, timeoutMs: 10_000, concurrency: 8, concurrencyPerAccount: 4, maxPending: 1000, maxPendingPerAccount: 250, deadLettersPerAccount: 100 },
  smtp: { host: "", port: 587, secure: false, requireTLS: true, user: "", password: "", from: "", connectionTimeoutMs: 10_000, greetingTimeoutMs: 10_000, socketTimeoutMs: 30_000, concurrency: 2, concurrencyPerAccount: 1, maxWaiting: 100, maxWaitingPerAccount: 25, maxAttachments: 10, maxAttachmentBytes: 10 * 1024 * 1024 },
  relaySecret: "",
  outbound: { allowPrivateTargets: true },
  // The SDK's deepest key is `filter[tags][0][key]` (3); a list query is a few hundred bytes.
  http: {
    maxQueryBytes: 8 * 1024, maxQueryParameters: 1000, maxQueryDepth: 5,
    maxConnections: 4000, maxConnectionsPerAddress: 200,
    headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5000,
    idleTimeoutMs: 30_000, maxResponseBytesInFlight: 256 * 1024 * 1024,
    corsOrigins: [],
    consoleImageSources: ["https:"],
  },
  parsers: { loopSliceMs: 2, maxBatchMs: 4, maxIsolates: 256, memoryMb: 32, timeoutMs: 200 },
  // 100, as /events allows per account.
  inspector: { maxStreamsPerAccount: 100, maxStreamBufferedBytes: 1024 * 1024, maxTotalBytes: 128 * 1024 * 1024, maxDevices: 10_000, maxEventsPerDevice: 500 },
  data: { maxSkip: 100_000, maxPageBytes: 8 * 1024 * 1024, downsampleCacheBytes: 32 * 1024 * 1024, readsConcurrency: 8, readsPerAccount: 2, readsWaitingPerAccount: 64 },
  pipeline: { deviceCacheBytes: 64 * 1024 * 1024, paramCacheBytes: 32 * 1024 * 1024, actionTopicCacheBytes: 16 * 1024 * 1024 },
  users: { adminEmail: "admin@localhost", setupLinkSeconds: 24 * 3600, maxPerAccount: 100, hashConcurrency: 2, hashQueue: 64 },
  sessions: { idleSeconds: 7 * 24 * 3600, maxAgeSeconds: 30 * 24 * 3600, maxPerUser: 20 },
  login: { failureDelayMs: 1000, failureDelayMaxMs: 60_000, maxTracked: 50_000 },
  // A page of headless Chromium costs ~50-100 MB: two at once keeps a small host responsive.
  pdf: {
    chromiumPath: "/usr/bin/chromium",
    concurrency: 2, concurrencyPerAccount: 1, maxWaiting: 50, maxWaitingPerAccount: 10,
    timeoutMs: 30_000, maxInputBytes: 2 * 1024 * 1024, maxOutputBytes: 20 * 1024 * 1024, maxPages: 100, idleMs: 60_000,
  },
  reports: {
    maxPerAccount: 50, maxFilesPerAccount: 200, maxFileBytesPerAccount: 100 * 1024 * 1024,
    maxRecords: 10_000, concurrency: 2, concurrencyPerAccount: 1, minIntervalSeconds: 60,
  },
  dashboards: {
    maxPerAccount: 1000, maxWidgetsPerDashboard: 100, maxWidgetBytes: 64 * 1024, maxDashboardBytes: 64 * 1024,
    shareRequestsPerMinute: 600, shareStreamsPerKey: 10, shareReadsConcurrency: 8, shareReadsPerKey: 2, shareReadsWaitingPerKey: 64, liveEventsPerSecond: 20, liveRecordsPerEvent: 500,
    shareFrameAncestors: ["*"],
  },
  cluster: { url: "", nodeId: "", ackTimeoutMs: 5000, handoffTimeoutMs: 5000, adoptIntervalMs: 1000, livenessWaitMs: 10_000, heartbeatMs: 1000, interestRefreshMs: 2000, presenceWaitMs: 200, historyWaitMs: 200, historyMaxReplyBytes: 262_144, rateCreditPercent: 5, leaseRetryMs: 1000, leaseTimeoutMs: 3000 },
  postgres: { url: "", poolSize: 10, connectTimeoutMs: 3000 },
};
