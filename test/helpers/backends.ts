/**
 * The storage backends the store contract tests run against: embedded SQLite (a temp file) and
 * PostgreSQL (a private instance per test file, test/helpers/postgres.ts). A contract test
 * loops over `backends()` and runs the same tests on each (docs/cluster.md: "the store
 * interfaces are tested once per backend"). SLUICE_TEST_BACKENDS=sqlite (or postgres) narrows
 * the list for a quick local run; CI runs both.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import type { AnalysisStore } from "../../src/analysis/store.js";
import { PgBucketStore } from "../../src/data/postgres/bucket_store.js";
import type { ParamStore } from "../../src/data/params.js";
import { SqliteBucketStore } from "../../src/data/sqlite/bucket_store.js";
import { SqliteParamStore } from "../../src/data/sqlite/param_store.js";
import type { BucketStore } from "../../src/data/types.js";
import type { UsageRepository } from "../../src/limits/limits.js";
import type { FileBounds, FileStore, ReportStore } from "../../src/reports/report_store.js";
import { SqliteFileStore, SqliteReportStore } from "../../src/reports/sqlite/report_store.js";
import { SqliteDeadLetterStore, type DeadLetterStore } from "../../src/notify/sqlite/dead_letter_store.js";
import { SqliteNotificationStore, type NotificationStore } from "../../src/notify/sqlite/notification_store.js";
import { PgStore } from "../../src/store/postgres/index.js";
import type { ActionRepository } from "../../src/store/sqlite/actions.js";
import { SqliteAnalysisStore } from "../../src/store/sqlite/analyses.js";
import { SqliteDashboardRepository, type DashboardRepository } from "../../src/store/sqlite/dashboards.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import { SqliteInspectorSwitches } from "../../src/store/sqlite/inspector_switches.js";
import { SqliteUsageRepository } from "../../src/store/sqlite/usage.js";
import { SqliteRelayRepository, type RelayRepository } from "../../src/store/sqlite/relays.js";
import { SqliteUserSessionRepository } from "../../src/store/sqlite/user_sessions.js";
import { SqliteUserRepository } from "../../src/store/sqlite/users.js";
import type { DeviceRow, InspectorSwitchStore, Store, UserRepository, UserSessionRepository } from "../../src/store/types.js";
import { startPostgres } from "./postgres.js";

export type BackendName = "sqlite" | "postgres";

export type TestBucketStore = BucketStore & { close(): Promise<void>; flush(): Promise<void> };
export type TestStore = Store & {
  users: UserRepository;
  userSessions: UserSessionRepository;
  actions: ActionRepository;
  reports: ReportStore;
  /** The account files under these bounds (another call, another store on the same table). */
  files(bounds: FileBounds): FileStore;
  params: ParamStore;
  usage: UsageRepository;
  inspectorSwitches: InspectorSwitchStore;
  analyses: AnalysisStore;
  relays: RelayRepository;
  dashboards: DashboardRepository;
  notifications: NotificationStore;
  deadLetters: DeadLetterStore;
};

export interface BucketOptions {
  maxBatchRecords?: number;
  deleteChunk?: number;
  /** PostgreSQL's commit lanes (PgBucketStore); SQLite has one writer and ignores it. */
  commitLanes?: number;
}

/** One backend's database for one test file. */
export interface BackendHandle {
  name: BackendName;
  /** PostgreSQL's database URL (postgres only). */
  url?: string;
  /** A bucket store on this database; called again, another store on the same data (as after a restart). */
  buckets(options?: BucketOptions): Promise<TestBucketStore>;
  /**
   * A Store (identity, broker, users, sessions, actions, the platform repositories, reports and
   * files, params, usage, inspector switches) on this database; called again, another on the same data (on
   * PostgreSQL, another pool: as another node).
   */
  /** A Store (identity, broker, users, sessions, actions, the platform repositories) on this database; called again, another on the same data. */
  store(): Promise<TestStore>;
  /** Runs SQL directly (internals the contract cannot see, e.g. unfinished removals); `?` placeholders. */
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export interface Backend {
  name: BackendName;
  start(): Promise<BackendHandle>;
}

const sqlite: Backend = {
  name: "sqlite",
  async start() {
    const dir = mkdtempSync(join(tmpdir(), "sluice-contract-"));
    const file = join(dir, "sluice.db");
    const open: { close(): Promise<void> }[] = [];
    return {
      name: "sqlite",
      async buckets(options = {}) {
        const { commitLanes: _lanes, ...sqliteOptions } = options;
        const store = SqliteBucketStore.open(file, { retentionSweepMs: 0, ...sqliteOptions });
        open.push(store);
        return store;
      },
      async store() {
        const store = new SqliteStore(dir);
        open.push(store);
        return Object.assign(store, {
          users: new SqliteUserRepository(store.db), userSessions: new SqliteUserSessionRepository(store.db),
          reports: new SqliteReportStore(store.db), files: (bounds: FileBounds) => new SqliteFileStore(store.db, bounds),
          params: new SqliteParamStore(store.db), usage: new SqliteUsageRepository(store.db), inspectorSwitches: new SqliteInspectorSwitches(store.db),
          analyses: new SqliteAnalysisStore(store.db), relays: new SqliteRelayRepository(store.db), dashboards: new SqliteDashboardRepository(store.db),
          notifications: new SqliteNotificationStore(store.db), deadLetters: new SqliteDeadLetterStore(store.db),
        });
      },
      async rows<T>(sql: string, params: unknown[] = []) {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare(sql).all(...params) as T[];
        } finally {
          db.close();
        }
      },
      async stop() {
        for (const s of open) await s.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgres: Backend = {
  name: "postgres",
  async start() {
    const server = await startPostgres();
    const url = await server.database();
    const open: { close(): Promise<void> }[] = [];
    return {
      name: "postgres",
      url,
      async buckets(options = {}) {
        const store = await PgBucketStore.open(url, { retentionSweepMs: 0, ...options });
        open.push(store);
        return store;
      },
      async store() {
        const store = await PgStore.open(url);
        open.push(store);
        return store;
      },
      async rows<T>(sql: string, params: unknown[] = []) {
        let i = 0;
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return (await client.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows as T[];
        } finally {
          await client.end();
        }
      },
      async stop() {
        for (const s of open) await s.close().catch(() => undefined);
        await server.stop();
      },
    };
  },
};

export function backends(): Backend[] {
  const wanted = process.env.SLUICE_TEST_BACKENDS?.split(",").map((s) => s.trim());
  return [sqlite, postgres].filter((b) => !wanted || wanted.includes(b.name));
}

/** An account with one device in it, for store tests whose rows must point at a device. */
export async function seedDevice(store: TestStore, ids: { accountId: string; deviceId: string }, at: Date): Promise<DeviceRow> {
  await store.identity.insertAccount({ id: ids.accountId, name: "Acme", createdAt: at, plan: null, admin: false });
  const row: DeviceRow = { id: ids.deviceId, accountId: ids.accountId, name: "sensor", active: true, tags: [], extra: {}, createdAt: at, updatedAt: at };
  await store.identity.insertDevice(row);
  return row;
}
