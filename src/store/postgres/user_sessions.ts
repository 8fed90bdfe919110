import type { UserSessionRepository, UserSessionRow } from "../types.js";
import { all, one, type Pool } from "./pool.js";

interface SessionRecord {
  id: string; token_hash: string; user_id: string; account_id: string; created_at: number; last_seen_at: number; expires_at: number;
}

const toSession = (r: SessionRecord): UserSessionRow => ({
  id: r.id, tokenHash: r.token_hash, userId: r.user_id, accountId: r.account_id, createdAt: new Date(r.created_at),
  lastSeenAt: new Date(r.last_seen_at), expiresAt: new Date(r.expires_at),
});

const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

/** Sign-in sessions in PostgreSQL (migration 4). */
export class PgUserSessionRepository implements UserSessionRepository {
  constructor(private readonly pool: Pool) {}

  async insertSession(row: UserSessionRow): Promise<void> {
    await this.pool.query(
      "INSERT INTO user_sessions (id, token_hash, user_id, account_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      [row.id, row.tokenHash, row.userId, row.accountId, row.createdAt.getTime(), row.lastSeenAt.getTime(), row.expiresAt.getTime()],
    );
  }
  async findSessionByHash(tokenHash: string): Promise<UserSessionRow | undefined> {
    const r = await one<SessionRecord>(this.pool, "SELECT * FROM user_sessions WHERE token_hash = $1", [tokenHash]);
    return r && toSession(r);
  }
  async touchSession(id: string, at: Date): Promise<void> {
    await this.pool.query("UPDATE user_sessions SET last_seen_at = $1 WHERE id = $2", [at.getTime(), id]);
  }
  async deleteSession(id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM user_sessions WHERE id = $1", [id])).rowCount ?? 0) > 0;
  }
  async deleteUserSessions(userId: string, except?: string): Promise<string[]> {
    return ids(await all(this.pool, "DELETE FROM user_sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2 RETURNING id", [userId, except ?? null]));
  }
  async trimUserSessions(userId: string, keep: number): Promise<string[]> {
    return ids(await all(this.pool,
      `DELETE FROM user_sessions WHERE id IN (
         SELECT id FROM user_sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2
       ) RETURNING id`, [userId, keep]));
  }
  async deleteExpiredSessions(now: Date, idleBefore: Date): Promise<string[]> {
    return ids(await all(this.pool, "DELETE FROM user_sessions WHERE expires_at <= $1 OR last_seen_at <= $2 RETURNING id", [now.getTime(), idleBefore.getTime()]));
  }
}
