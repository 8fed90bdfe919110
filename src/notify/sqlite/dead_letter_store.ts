import type { Db } from "../../store/sqlite/open.js";
import { writeTransaction } from "../../store/sqlite/open.js";

/** A webhook delivery that failed for good (every attempt used, or refused outright). */
export interface DeadLetter {
  id: string;
  accountId: string;
  actionId: string;
  deviceId: string | null;
  url: string;
  /** The last HTTP status; null when the last attempt got no response (network error, timeout). */
  status: number | null;
  attempts: number;
  error: string;
  /** The JSON body that was to be delivered (cut at MAX_BODY characters). */
  body: string;
  firstAttemptAt: Date;
  failedAt: Date;
}

/** A dead letter's row, the same columns in SQLite and PostgreSQL. */
export interface DeadLetterRow {
  id: string;
  account_id: string;
  action_id: string;
  device_id: string | null;
  url: string;
  status: number | null;
  attempts: number;
  error: string;
  body: string;
  first_attempt_at: number;
  failed_at: number;
}

/** Kept bodies are for reading and replaying by hand, not an archive. */
export const MAX_BODY = 64 * 1024;

/** A kept body: cut at MAX_BODY characters, marked as cut. */
export const keptBody = (body: string): string => (body.length > MAX_BODY ? `${body.slice(0, MAX_BODY)}…` : body);

/**
 * Where dead letters are kept (SQLite, PostgreSQL), bounded per account at insert time: the
 * insert and its pruning are one transaction, so the bound holds whoever inserts at once.
 */
export interface DeadLetterStore {
  /** Stores one (its body cut at MAX_BODY), then drops the account's oldest past `keep`. */
  insert(deadLetter: DeadLetter, keep: number): Promise<void>;
  /** An action's dead letters, newest first. */
  list(accountId: string, actionId: string, limit: number, offset: number): Promise<DeadLetter[]>;
  clear(accountId: string, actionId: string): Promise<number>;
  /** Removes one dead letter of an action; false when the action has none by that id. */
  remove(accountId: string, actionId: string, id: string): Promise<boolean>;
}

/** Dead letters in SQLite (table from migration 7), bounded per account at insert time. */
export class SqliteDeadLetterStore implements DeadLetterStore {
  private readonly q;
  private readonly insertAndPrune;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare(
        "INSERT INTO webhook_dead_letters (id, account_id, action_id, device_id, url, status, attempts, error, body, first_attempt_at, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      prune: db.prepare(
        "DELETE FROM webhook_dead_letters WHERE account_id = ? AND seq <= (SELECT seq FROM webhook_dead_letters WHERE account_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      ),
      list: db.prepare("SELECT * FROM webhook_dead_letters WHERE account_id = ? AND action_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?"),
      clear: db.prepare("DELETE FROM webhook_dead_letters WHERE account_id = ? AND action_id = ?"),
      remove: db.prepare("DELETE FROM webhook_dead_letters WHERE account_id = ? AND action_id = ? AND id = ?"),
    };
    this.insertAndPrune = writeTransaction(db, (d: DeadLetter, keep: number) => {
      this.q.insert.run(d.id, d.accountId, d.actionId, d.deviceId, d.url, d.status, d.attempts, d.error, keptBody(d.body), d.firstAttemptAt.getTime(), d.failedAt.getTime());
      this.q.prune.run(d.accountId, d.accountId, keep);
    });
  }

  /** Stores one, then drops the account's oldest past `keep`. */
  async insert(deadLetter: DeadLetter, keep: number): Promise<void> {
    this.insertAndPrune(deadLetter, keep);
  }

  /** An action's dead letters, newest first. */
  async list(accountId: string, actionId: string, limit: number, offset: number): Promise<DeadLetter[]> {
    return (this.q.list.all(accountId, actionId, limit, offset) as DeadLetterRow[]).map(deadLetterOf);
  }

  async clear(accountId: string, actionId: string): Promise<number> {
    return this.q.clear.run(accountId, actionId).changes;
  }

  /** Removes one dead letter of an action; false when the action has none by that id. */
  async remove(accountId: string, actionId: string, id: string): Promise<boolean> {
    return this.q.remove.run(accountId, actionId, id).changes > 0;
  }
}

export function deadLetterOf(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id, accountId: r.account_id, actionId: r.action_id, deviceId: r.device_id, url: r.url, status: r.status,
    attempts: r.attempts, error: r.error, body: r.body, firstAttemptAt: new Date(r.first_attempt_at), failedAt: new Date(r.failed_at),
  };
}
