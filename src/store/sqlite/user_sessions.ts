import type { UserSessionRepository, UserSessionRow } from "../types.js";
import type { Db } from "./open.js";

interface SessionRecord {
  id: string; token_hash: string; user_id: string; account_id: string; created_at: number; last_seen_at: number; expires_at: number;
}

const toSession = (r: SessionRecord): UserSessionRow => ({
  id: r.id, tokenHash: r.token_hash, userId: r.user_id, accountId: r.account_id, createdAt: new Date(r.created_at),
  lastSeenAt: new Date(r.last_seen_at), expiresAt: new Date(r.expires_at),
});

/** Sign-in sessions in SQLite (migration 14): they survive a restart. */
export class SqliteUserSessionRepository implements UserSessionRepository {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare(
        "INSERT INTO user_sessions (id, token_hash, user_id, account_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      byHash: db.prepare("SELECT * FROM user_sessions WHERE token_hash = ?"),
      touch: db.prepare("UPDATE user_sessions SET last_seen_at = ? WHERE id = ?"),
      delete: db.prepare("DELETE FROM user_sessions WHERE id = ?"),
      deleteOfUser: db.prepare("DELETE FROM user_sessions WHERE user_id = ? AND id IS NOT ? RETURNING id"),
      trim: db.prepare(
        `DELETE FROM user_sessions WHERE id IN (
           SELECT id FROM user_sessions WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?
         ) RETURNING id`,
      ),
      expired: db.prepare("DELETE FROM user_sessions WHERE expires_at <= ? OR last_seen_at <= ? RETURNING id"),
    };
  }

  async insertSession(row: UserSessionRow): Promise<void> {
    this.q.insert.run(row.id, row.tokenHash, row.userId, row.accountId, row.createdAt.getTime(), row.lastSeenAt.getTime(), row.expiresAt.getTime());
  }
  async findSessionByHash(tokenHash: string): Promise<UserSessionRow | undefined> {
    const r = this.q.byHash.get(tokenHash) as SessionRecord | undefined;
    return r && toSession(r);
  }
  async touchSession(id: string, at: Date): Promise<void> {
    this.q.touch.run(at.getTime(), id);
  }
  async deleteSession(id: string): Promise<boolean> {
    return this.q.delete.run(id).changes > 0;
  }
  async deleteUserSessions(userId: string, except?: string): Promise<string[]> {
    return (this.q.deleteOfUser.all(userId, except ?? null) as { id: string }[]).map((r) => r.id);
  }
  async trimUserSessions(userId: string, keep: number): Promise<string[]> {
    return (this.q.trim.all(userId, keep) as { id: string }[]).map((r) => r.id);
  }
  async deleteExpiredSessions(now: Date, idleBefore: Date): Promise<string[]> {
    return (this.q.expired.all(now.getTime(), idleBefore.getTime()) as { id: string }[]).map((r) => r.id);
  }
}
