/**
 * Where a node keeps its data, chosen once at start: the embedded SQLite file in the data dir
 * (the default), or with `postgres.url` (`--store`) the PostgreSQL database every node of a
 * cluster shares. The rest of the server sees only the repositories' interfaces.
 *
 * With PostgreSQL, the SQLite file is not opened at all: everything a node stores lives in the
 * database, and the data dir keeps only what is the node's own (TLS material, the admin token
 * file, the setup link, the relay credentials key, the analysis workspace, `ports.json`, the
 * pid file). docs/cluster.md, "What a node keeps".
 */
import { join } from "node:path";
import type { AnalysisStore } from "../analysis/store.js";
import type { PostgresSettings } from "../config/schema.js";
import type { ParamStore } from "../data/params.js";
import { PgBucketStore } from "../data/postgres/bucket_store.js";
import { SqliteBucketStore } from "../data/sqlite/bucket_store.js";
import { SqliteParamStore } from "../data/sqlite/param_store.js";
import type { BucketStore, StoredRecord } from "../data/types.js";
import type { UsageRepository } from "../limits/limits.js";
import { SqliteDeadLetterStore, type DeadLetterStore } from "../notify/sqlite/dead_letter_store.js";
import { SqliteNotificationStore, type NotificationStore } from "../notify/sqlite/notification_store.js";
import type { FileBounds, FileStore, ReportStore } from "../reports/report_store.js";
import { SqliteFileStore, SqliteReportStore } from "../reports/sqlite/report_store.js";
import { PgStore } from "./postgres/index.js";
import type { ActionRepository } from "./sqlite/actions.js";
import { SqliteAnalysisStore } from "./sqlite/analyses.js";
import { SqliteDashboardRepository, type DashboardRepository } from "./sqlite/dashboards.js";
import { SqliteStore } from "./sqlite/index.js";
import { SqliteInspectorSwitches } from "./sqlite/inspector_switches.js";
import { SqliteRelayRepository, type RelayRepository } from "./sqlite/relays.js";
import { SqliteUsageRepository } from "./sqlite/usage.js";
import { SqliteUserSessionRepository } from "./sqlite/user_sessions.js";
import { SqliteUserRepository } from "./sqlite/users.js";
import type { BrokerRepository, IdentityRepository, InspectorSwitchStore, UserRepository, UserSessionRepository } from "./types.js";

/** The bucket store as the server drives it: the interface, plus the live-dashboard listener and shutdown. */
export interface ServerBucketStore extends BucketStore {
  onInserted(listener: ((deviceId: string, records: StoredRecord[]) => void) | undefined): void;
  close(): Promise<void>;
}

/** Every repository the server builds its parts on, from one backend. */
export interface Backend {
  readonly kind: "sqlite" | "postgres";
  /** The PostgreSQL store itself (its pool, its broker repository), for the cluster's parts that need the database; absent on SQLite. */
  readonly postgres?: PgStore;
  readonly identity: IdentityRepository;
  readonly broker: BrokerRepository;
  readonly users: UserRepository;
  readonly userSessions: UserSessionRepository;
  readonly actions: ActionRepository;
  readonly buckets: ServerBucketStore;
  readonly params: ParamStore;
  readonly inspectorSwitches: InspectorSwitchStore;
  readonly usage: UsageRepository;
  readonly analyses: AnalysisStore;
  readonly notifications: NotificationStore;
  readonly deadLetters: DeadLetterStore;
  readonly reports: ReportStore;
  files(bounds: FileBounds): FileStore;
  readonly relays: RelayRepository;
  readonly dashboards: DashboardRepository;
  /** Closes the bucket store (its pending commits first), then the database. */
  close(): Promise<void>;
}

export interface BackendOptions {
  dataDir: string;
  postgres: PostgresSettings;
  /** SQLite only: memory for `query=downsample` hour summaries (`data.downsampleCacheBytes`). */
  downsampleCacheBytes: number;
  /** Background failures of the bucket store (retention, device removal), for the log. */
  onBucketError(err: unknown): void;
}

/** Opens the configured backend: PostgreSQL when `postgres.url` is set (migrated first), else the data dir's SQLite file. */
export async function openBackend(options: BackendOptions): Promise<Backend> {
  return options.postgres.url === "" ? openSqlite(options) : openPostgres(options);
}

function openSqlite(options: BackendOptions): Backend {
  const store = new SqliteStore(options.dataDir);
  const db = store.db;
  const buckets = SqliteBucketStore.open(join(options.dataDir, "sluice.db"), {
    onError: options.onBucketError, downsampleCacheBytes: options.downsampleCacheBytes,
  });
  return {
    kind: "sqlite",
    identity: store.identity,
    broker: store.broker,
    actions: store.actions,
    users: new SqliteUserRepository(db),
    userSessions: new SqliteUserSessionRepository(db),
    buckets,
    params: new SqliteParamStore(db),
    inspectorSwitches: new SqliteInspectorSwitches(db),
    usage: new SqliteUsageRepository(db),
    analyses: new SqliteAnalysisStore(db),
    notifications: new SqliteNotificationStore(db),
    deadLetters: new SqliteDeadLetterStore(db),
    reports: new SqliteReportStore(db),
    files: (bounds) => new SqliteFileStore(db, bounds),
    relays: new SqliteRelayRepository(db),
    dashboards: new SqliteDashboardRepository(db),
    async close() {
      await buckets.close();
      await store.close();
    },
  };
}

async function openPostgres(options: BackendOptions): Promise<Backend> {
  const { url, poolSize, connectTimeoutMs } = options.postgres;
  const store = await PgStore.open(url, { max: poolSize, connectionTimeoutMs: connectTimeoutMs });
  let buckets: PgBucketStore;
  try {
    // One pool for every repository: `postgres.poolSize` bounds the node's connections in all.
    buckets = await PgBucketStore.create(store.pool, { onError: options.onBucketError });
  } catch (err) {
    await store.close();
    throw err;
  }
  return {
    kind: "postgres",
    postgres: store,
    identity: store.identity,
    broker: store.broker,
    actions: store.actions,
    users: store.users,
    userSessions: store.userSessions,
    buckets,
    params: store.params,
    inspectorSwitches: store.inspectorSwitches,
    usage: store.usage,
    analyses: store.analyses,
    notifications: store.notifications,
    deadLetters: store.deadLetters,
    reports: store.reports,
    files: (bounds) => store.files(bounds),
    relays: store.relays,
    dashboards: store.dashboards,
    async close() {
      await buckets.close();
      await store.close();
    },
  };
}
