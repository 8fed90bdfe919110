import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { privateDatabase } from "../private_files.js";
import { migrations } from "./migrations.js";

export type Db = Database.Database;

/** Opens (creating if needed) a SQLite file in WAL mode and brings its schema up to date. */
export function openDatabase(file: string): Db {
  if (file !== ":memory:") {
    mkdirSync(dirname(file), { recursive: true });
    // The database holds token hashes, relay credentials (sealed) and every account's data.
    privateDatabase(file);
  }
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the
  // last transactions, which is the trade every embedded broker (Mosquitto included) makes.
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/**
 * A write transaction, begun IMMEDIATE. The bucket writer thread commits on a connection of
 * its own, so a deferred transaction that reads before it writes could find its snapshot stale
 * when it comes to write, and fail with SQLITE_BUSY_SNAPSHOT at once; one that takes the write
 * lock first waits its turn instead (busy_timeout). Every write transaction goes through here.
 */
export function writeTransaction<A extends unknown[], R>(db: Db, fn: (...args: A) => R): (...args: A) => R {
  return db.transaction(fn).immediate;
}

/** The schema version this Sluice brings a database to: its highest migration. */
export const schemaVersion = Math.max(...migrations.map((m) => m.version));

export function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  // Sorted, so a migration appended out of order by a parallel branch still runs in order.
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    writeTransaction(db, () => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
