import { PgParamStore } from "../../data/postgres/param_store.js";
import { PgFileStore, PgReportStore } from "../../reports/postgres/report_store.js";
import type { FileBounds } from "../../reports/report_store.js";
import type { Store } from "../types.js";
import { PgDeadLetterStore } from "../../notify/postgres/dead_letter_store.js";
import { PgNotificationStore } from "../../notify/postgres/notification_store.js";
import { PgActionRepository } from "./actions.js";
import { PgAnalysisStore } from "./analyses.js";
import { PgBrokerRepository } from "./broker.js";
import { PgDashboardRepository } from "./dashboards.js";
import { PgIdentityRepository } from "./identity.js";
import { PgInspectorSwitches } from "./inspector_switches.js";
import { migratePg } from "./migrations.js";
import { openPool, type Pool, type PoolOptions } from "./pool.js";
import { PgRelayRepository } from "./relays.js";
import { PgUserSessionRepository } from "./user_sessions.js";
import { PgUsageRepository } from "./usage.js";
import { PgUserRepository } from "./users.js";

/**
 * The PostgreSQL `Store` (docs/cluster.md): identity, broker state, users and their sessions, actions,
 * analyses, relays, dashboards, notifications and webhook dead letters, reports and account files,
 * device params, monthly usage counters, inspector switches, on one bounded pool that the bucket store may share (`PgBucketStore` takes `pool`).
 * `PgStore.open` migrates the database first (once, whatever the number of nodes starting).
 */
export class PgStore implements Store {
  readonly identity: PgIdentityRepository;
  readonly broker: PgBrokerRepository;
  readonly users: PgUserRepository;
  readonly userSessions: PgUserSessionRepository;
  readonly actions: PgActionRepository;
  readonly analyses: PgAnalysisStore;
  readonly relays: PgRelayRepository;
  readonly dashboards: PgDashboardRepository;
  readonly notifications: PgNotificationStore;
  readonly deadLetters: PgDeadLetterStore;
  readonly reports: PgReportStore;
  readonly params: PgParamStore;
  readonly usage: PgUsageRepository;
  readonly inspectorSwitches: PgInspectorSwitches;

  private constructor(readonly pool: Pool) {
    this.identity = new PgIdentityRepository(pool);
    this.broker = new PgBrokerRepository(pool);
    this.users = new PgUserRepository(pool);
    this.userSessions = new PgUserSessionRepository(pool);
    this.actions = new PgActionRepository(pool);
    this.analyses = new PgAnalysisStore(pool);
    this.relays = new PgRelayRepository(pool);
    this.dashboards = new PgDashboardRepository(pool);
    this.notifications = new PgNotificationStore(pool);
    this.deadLetters = new PgDeadLetterStore(pool);
    this.reports = new PgReportStore(pool);
    this.params = new PgParamStore(pool);
    this.usage = new PgUsageRepository(pool);
    this.inspectorSwitches = new PgInspectorSwitches(pool);
  }

  /** The account files, bounded per account (`reports.maxFilesPerAccount`, `reports.maxFileBytesPerAccount`). */
  files(bounds: FileBounds): PgFileStore {
    return new PgFileStore(this.pool, bounds);
  }

  static async open(url: string, options: PoolOptions = {}): Promise<PgStore> {
    const pool = openPool(url, options);
    try {
      await migratePg(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PgStore(pool);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
