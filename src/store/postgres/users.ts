import type { SetupTokenRow, UserRepository, UserRow } from "../types.js";
import { all, one, transaction, type Pool } from "./pool.js";

interface UserRecord {
  id: string; account_id: string; email: string; name: string; password_hash: string | null;
  created_at: number; last_login: number | null;
}
interface SetupRecord { token_hash: string; user_id: string; created_at: number; expires_at: number }

const toUser = (r: UserRecord): UserRow => ({
  id: r.id, accountId: r.account_id, email: r.email, name: r.name, passwordHash: r.password_hash,
  createdAt: new Date(r.created_at), lastLogin: r.last_login === null ? null : new Date(r.last_login),
});
const toSetup = (r: SetupRecord): SetupTokenRow => ({
  tokenHash: r.token_hash, userId: r.user_id, createdAt: new Date(r.created_at), expiresAt: new Date(r.expires_at),
});

/** Users and their setup links in PostgreSQL (migration 4). */
export class PgUserRepository implements UserRepository {
  constructor(private readonly pool: Pool) {}

  async insertUser(row: UserRow): Promise<void> {
    await this.pool.query("INSERT INTO users (id, account_id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
      [row.id, row.accountId, row.email, row.name, row.passwordHash, row.createdAt.getTime()]);
  }
  async getUser(accountId: string, id: string): Promise<UserRow | undefined> {
    const r = await one<UserRecord>(this.pool, "SELECT * FROM users WHERE id = $1 AND account_id = $2", [id, accountId]);
    return r && toUser(r);
  }
  async findUser(id: string): Promise<UserRow | undefined> {
    const r = await one<UserRecord>(this.pool, "SELECT * FROM users WHERE id = $1", [id]);
    return r && toUser(r);
  }
  async findUserByEmail(email: string): Promise<UserRow | undefined> {
    const r = await one<UserRecord>(this.pool, "SELECT * FROM users WHERE email = $1", [email]);
    return r && toUser(r);
  }
  async listUsers(accountId: string): Promise<UserRow[]> {
    return (await all<UserRecord>(this.pool, "SELECT * FROM users WHERE account_id = $1 ORDER BY created_at, id", [accountId])).map(toUser);
  }
  async countUsers(accountId: string): Promise<number> {
    return (await one<{ n: number }>(this.pool, "SELECT count(*) AS n FROM users WHERE account_id = $1", [accountId]))!.n;
  }
  async deleteUser(accountId: string, id: string): Promise<{ sessionIds: string[] } | false | "last"> {
    return transaction(this.pool, async (c) => {
      // The account's users locked first: two deletions at once cannot both see two users left.
      const users = await all<{ id: string }>(c, "SELECT id FROM users WHERE account_id = $1 ORDER BY id FOR UPDATE", [accountId]);
      if (!users.some((u) => u.id === id)) return false;
      if (users.length <= 1) return "last";
      const sessionIds = (await all<{ id: string }>(c, "DELETE FROM user_sessions WHERE user_id = $1 RETURNING id", [id])).map((r) => r.id);
      await c.query("DELETE FROM users WHERE id = $1 AND account_id = $2", [id, accountId]);
      return { sessionIds };
    });
  }
  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.pool.query("UPDATE users SET password_hash = $1 WHERE id = $2", [passwordHash, id]);
  }
  async touchLogin(id: string, at: Date): Promise<void> {
    await this.pool.query("UPDATE users SET last_login = $1 WHERE id = $2", [at.getTime(), id]);
  }
  async replaceSetupToken(row: SetupTokenRow): Promise<void> {
    await transaction(this.pool, async (c) => {
      await c.query("DELETE FROM user_setup_tokens WHERE user_id = $1", [row.userId]);
      await c.query("INSERT INTO user_setup_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        [row.tokenHash, row.userId, row.createdAt.getTime(), row.expiresAt.getTime()]);
    });
  }
  async findSetupToken(tokenHash: string): Promise<SetupTokenRow | undefined> {
    const r = await one<SetupRecord>(this.pool, "SELECT * FROM user_setup_tokens WHERE token_hash = $1", [tokenHash]);
    return r && toSetup(r);
  }
  async liveSetupToken(userId: string, now: Date): Promise<SetupTokenRow | undefined> {
    const r = await one<SetupRecord>(this.pool,
      "SELECT * FROM user_setup_tokens WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC LIMIT 1", [userId, now.getTime()]);
    return r && toSetup(r);
  }
  async consumeSetupToken(tokenHash: string, passwordHash: string): Promise<boolean> {
    return transaction(this.pool, async (c) => {
      // Deleted first, returning its user: of two uses at once, one finds it gone.
      const row = await one<{ user_id: string }>(c, "DELETE FROM user_setup_tokens WHERE token_hash = $1 RETURNING user_id", [tokenHash]);
      if (!row) return false;
      await c.query("UPDATE users SET password_hash = $1 WHERE id = $2", [passwordHash, row.user_id]);
      await c.query("DELETE FROM user_setup_tokens WHERE user_id = $1", [row.user_id]);
      return true;
    });
  }
}
