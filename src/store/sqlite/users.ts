import type { SetupTokenRow, UserRepository, UserRow } from "../types.js";
import { writeTransaction, type Db } from "./open.js";

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

/** Users and their setup links in SQLite (migration 14). */
export class SqliteUserRepository implements UserRepository {
  private readonly q;
  private readonly deleteIfNotLast;
  private readonly consume;
  private readonly replaceSetup;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare("INSERT INTO users (id, account_id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
      get: db.prepare("SELECT * FROM users WHERE id = ? AND account_id = ?"),
      byId: db.prepare("SELECT * FROM users WHERE id = ?"),
      byEmail: db.prepare("SELECT * FROM users WHERE email = ?"),
      list: db.prepare("SELECT * FROM users WHERE account_id = ? ORDER BY created_at, id"),
      count: db.prepare("SELECT count(*) AS n FROM users WHERE account_id = ?"),
      delete: db.prepare("DELETE FROM users WHERE id = ? AND account_id = ?"),
      deleteSessionsOf: db.prepare("DELETE FROM user_sessions WHERE user_id = ? RETURNING id"),
      setPassword: db.prepare("UPDATE users SET password_hash = ? WHERE id = ?"),
      touchLogin: db.prepare("UPDATE users SET last_login = ? WHERE id = ?"),
      deleteSetupOf: db.prepare("DELETE FROM user_setup_tokens WHERE user_id = ?"),
      insertSetup: db.prepare("INSERT INTO user_setup_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)"),
      setup: db.prepare("SELECT * FROM user_setup_tokens WHERE token_hash = ?"),
      liveSetup: db.prepare("SELECT * FROM user_setup_tokens WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC LIMIT 1"),
    };
    this.deleteIfNotLast = writeTransaction(db, (accountId: string, id: string): { sessionIds: string[] } | false | "last" => {
      if (!this.q.get.get(id, accountId)) return false;
      if ((this.q.count.get(accountId) as { n: number }).n <= 1) return "last";
      // Deleted by the cascade too; here so the caller can end their streams.
      const sessionIds = (this.q.deleteSessionsOf.all(id) as { id: string }[]).map((r) => r.id);
      this.q.delete.run(id, accountId);
      return { sessionIds };
    });
    this.consume = writeTransaction(db, (tokenHash: string, passwordHash: string): boolean => {
      const row = this.q.setup.get(tokenHash) as SetupRecord | undefined;
      if (!row) return false;
      this.q.setPassword.run(passwordHash, row.user_id);
      this.q.deleteSetupOf.run(row.user_id);
      return true;
    });
    this.replaceSetup = writeTransaction(db, (row: SetupTokenRow) => {
      this.q.deleteSetupOf.run(row.userId);
      this.q.insertSetup.run(row.tokenHash, row.userId, row.createdAt.getTime(), row.expiresAt.getTime());
    });
  }

  async insertUser(row: UserRow): Promise<void> {
    this.q.insert.run(row.id, row.accountId, row.email, row.name, row.passwordHash, row.createdAt.getTime());
  }
  async getUser(accountId: string, id: string): Promise<UserRow | undefined> {
    const r = this.q.get.get(id, accountId) as UserRecord | undefined;
    return r && toUser(r);
  }
  async findUser(id: string): Promise<UserRow | undefined> {
    const r = this.q.byId.get(id) as UserRecord | undefined;
    return r && toUser(r);
  }
  async findUserByEmail(email: string): Promise<UserRow | undefined> {
    const r = this.q.byEmail.get(email) as UserRecord | undefined;
    return r && toUser(r);
  }
  async listUsers(accountId: string): Promise<UserRow[]> {
    return (this.q.list.all(accountId) as UserRecord[]).map(toUser);
  }
  async countUsers(accountId: string): Promise<number> {
    return (this.q.count.get(accountId) as { n: number }).n;
  }
  async deleteUser(accountId: string, id: string): Promise<{ sessionIds: string[] } | false | "last"> {
    return this.deleteIfNotLast(accountId, id);
  }
  async setPassword(id: string, passwordHash: string): Promise<void> {
    this.q.setPassword.run(passwordHash, id);
  }
  async touchLogin(id: string, at: Date): Promise<void> {
    this.q.touchLogin.run(at.getTime(), id);
  }
  async replaceSetupToken(row: SetupTokenRow): Promise<void> {
    this.replaceSetup(row);
  }
  async findSetupToken(tokenHash: string): Promise<SetupTokenRow | undefined> {
    const r = this.q.setup.get(tokenHash) as SetupRecord | undefined;
    return r && toSetup(r);
  }
  async liveSetupToken(userId: string, now: Date): Promise<SetupTokenRow | undefined> {
    const r = this.q.liveSetup.get(userId, now.getTime()) as SetupRecord | undefined;
    return r && toSetup(r);
  }
  async consumeSetupToken(tokenHash: string, passwordHash: string): Promise<boolean> {
    return this.consume(tokenHash, passwordHash);
  }
}
