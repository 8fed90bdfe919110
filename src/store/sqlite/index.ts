import { join } from "node:path";
import type { Store } from "../types.js";
import { SqliteBrokerRepository } from "./broker.js";
import { SqliteIdentityRepository } from "./identity.js";
import { openDatabase } from "./open.js";

export class SqliteStore implements Store {
  readonly identity: SqliteIdentityRepository;
  readonly broker: SqliteBrokerRepository;
  private readonly db;

  /** `dataDir` holds `sluice.db`; pass `:memory:` for a throwaway store. */
  constructor(dataDir: string) {
    this.db = openDatabase(dataDir === ":memory:" ? dataDir : join(dataDir, "sluice.db"));
    this.identity = new SqliteIdentityRepository(this.db);
    this.broker = new SqliteBrokerRepository(this.db);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
