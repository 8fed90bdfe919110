import { join } from "node:path";
import type { Store } from "../types.js";
import { SqliteActionRepository } from "./actions.js";
import { SqliteBrokerRepository } from "./broker.js";
import { SqliteIdentityRepository } from "./identity.js";
import { openDatabase } from "./open.js";

export class SqliteStore implements Store {
  readonly identity: SqliteIdentityRepository;
  readonly broker: SqliteBrokerRepository;
  readonly actions: SqliteActionRepository;
  /** The open database, for parts that keep their own tables in it (buckets). */
  readonly db;

  /** `dataDir` holds `sluice.db`; pass `:memory:` for a throwaway store. */
  constructor(dataDir: string) {
    this.db = openDatabase(dataDir === ":memory:" ? dataDir : join(dataDir, "sluice.db"));
    this.identity = new SqliteIdentityRepository(this.db);
    this.broker = new SqliteBrokerRepository(this.db);
    this.actions = new SqliteActionRepository(this.db);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
