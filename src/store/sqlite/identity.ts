import type { Statement } from "better-sqlite3";
import { nameSortKey } from "../name_key.js";
import { wildcardMatch } from "../wildcard.js";
import type { AccountRow, AccountTokenRow, DeviceListQuery, DeviceRow, DeviceTokenRow, IdentityRepository, Permission } from "../types.js";
import { deviceListSql } from "./device_list_sql.js";
import { writeTransaction, type Db } from "./open.js";

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

interface DeviceRecord {
  id: string; account_id: string; name: string; active: number; tags: string; extra: string;
  created_at: number; updated_at: number; last_input: number | null;
}
interface TokenRecord {
  id: string; device_id: string; account_id: string; token_hash: string; prefix: string; name: string;
  permission: Permission; created_at: number; expires_at: number | null; serie_number: string | null;
  last_authorization: number | null; minted_by: string | null;
}

interface AccountTokenRecord {
  id: string; account_id: string; token_hash: string; name: string; created_at: number; expires_at: number | null;
  permission: Permission; prefix: string | null; last_authorization: number | null; analysis_id: string | null;
}

function toAccountToken(r: AccountTokenRecord): AccountTokenRow {
  return {
    id: r.id, accountId: r.account_id, tokenHash: r.token_hash, name: r.name, createdAt: new Date(r.created_at),
    expiresAt: date(r.expires_at), permission: r.permission, prefix: r.prefix, lastAuthorization: date(r.last_authorization),
    analysisId: r.analysis_id,
  };
}

function toDevice(r: DeviceRecord): DeviceRow {
  return {
    id: r.id, accountId: r.account_id, name: r.name, active: r.active === 1,
    tags: JSON.parse(r.tags), extra: JSON.parse(r.extra),
    createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at), lastInput: date(r.last_input),
  };
}

function toToken(r: TokenRecord): DeviceTokenRow {
  return {
    id: r.id, deviceId: r.device_id, accountId: r.account_id, tokenHash: r.token_hash, prefix: r.prefix,
    name: r.name, permission: r.permission, createdAt: new Date(r.created_at), expiresAt: date(r.expires_at),
    serieNumber: r.serie_number, lastAuthorization: date(r.last_authorization), mintedBy: r.minted_by,
  };
}

export class SqliteIdentityRepository implements IdentityRepository {
  private readonly q;
  private readonly db: Db;
  /** Prepared list statements by their SQL (a few shapes: order × which filters are set). */
  private readonly listStatements = new Map<string, Statement<unknown[]>>();
  private readonly raiseLastInputs: (entries: readonly (readonly [string, number])[]) => void;

  constructor(db: Db) {
    this.db = db;
    // SQLite's LIKE backtracks on `%`: pattern × name per row, and names have no length bound.
    // The list filters' own matcher is linear (store/wildcard.ts); SQL calls it instead.
    db.function("sluice_wildcard", { deterministic: true }, (pattern: unknown, text: unknown) =>
      typeof pattern === "string" && typeof text === "string" && wildcardMatch(pattern, text) ? 1 : 0);
    this.q = {
      insertAccount: db.prepare("INSERT INTO accounts (id, name, created_at, plan, admin) VALUES (?, ?, ?, ?, ?)"),
      listAccounts: db.prepare("SELECT * FROM accounts ORDER BY created_at, rowid"),
      setAccountPlan: db.prepare("UPDATE accounts SET plan = ? WHERE id = ?"),
      getAccount: db.prepare("SELECT * FROM accounts WHERE id = ?"),
      countAccounts: db.prepare("SELECT count(*) AS n FROM accounts"),
      countDevices: db.prepare("SELECT count(*) AS n FROM devices WHERE account_id = ?"),
      insertAccountToken: db.prepare(
        `INSERT INTO account_tokens (id, account_id, token_hash, name, created_at, expires_at, permission, prefix, analysis_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      accountTokenByHash: db.prepare("SELECT * FROM account_tokens WHERE token_hash = ?"),
      accountTokenById: db.prepare("SELECT * FROM account_tokens WHERE id = ? AND account_id = ?"),
      accountTokens: db.prepare("SELECT * FROM account_tokens WHERE account_id = ? ORDER BY created_at, id"),
      deleteAccountToken: db.prepare("DELETE FROM account_tokens WHERE id = ?"),
      touchAccountToken: db.prepare("UPDATE account_tokens SET last_authorization = ? WHERE id = ?"),
      accountTokensExpiring: db.prepare("SELECT * FROM account_tokens WHERE expires_at > ? AND expires_at <= ?"),
      insertDevice: db.prepare(
        "INSERT INTO devices (id, account_id, name, name_key, name_lower, active, tags, extra, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      updateDevice: db.prepare(
        "UPDATE devices SET name = ?, name_key = ?, name_lower = ?, active = ?, tags = ?, extra = ?, updated_at = ? WHERE id = ? AND account_id = ?",
      ),
      getDevice: db.prepare("SELECT * FROM devices WHERE id = ? AND account_id = ?"),
      raiseLastInput: db.prepare("UPDATE devices SET last_input = ? WHERE id = ? AND (last_input IS NULL OR last_input < ?)"),
      deleteDevice: db.prepare("DELETE FROM devices WHERE id = ? AND account_id = ?"),
      insertToken: db.prepare(
        `INSERT INTO device_tokens (id, device_id, account_id, token_hash, prefix, name, permission, created_at, expires_at, serie_number, minted_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      tokenByHash: db.prepare("SELECT * FROM device_tokens WHERE token_hash = ?"),
      tokenById: db.prepare("SELECT * FROM device_tokens WHERE id = ? AND account_id = ?"),
      tokensByDevice: db.prepare("SELECT * FROM device_tokens WHERE device_id = ? AND account_id = ? ORDER BY created_at, id"),
      deleteToken: db.prepare("DELETE FROM device_tokens WHERE id = ?"),
      touchToken: db.prepare("UPDATE device_tokens SET last_authorization = ? WHERE id = ?"),
      tokensExpiring: db.prepare("SELECT * FROM device_tokens WHERE expires_at > ? AND expires_at <= ?"),
      deleteTokensMintedBy: db.prepare("DELETE FROM device_tokens WHERE minted_by = ? RETURNING id"),
    };
    this.raiseLastInputs = writeTransaction(db, (entries: readonly (readonly [string, number])[]) => {
      for (const [id, at] of entries) this.q.raiseLastInput.run(at, id, at);
    });
    this.fillNameKeys();
  }

  /** Rows from before migration 15 get their sort key and lower case once (SQL computes neither as JavaScript does). */
  private fillNameKeys(): void {
    const missing = this.db.prepare("SELECT id, name FROM devices WHERE name_key IS NULL OR name_lower IS NULL").all() as { id: string; name: string }[];
    if (missing.length === 0) return;
    const set = this.db.prepare("UPDATE devices SET name_key = ?, name_lower = ? WHERE id = ?");
    writeTransaction(this.db, () => {
      for (const row of missing) set.run(nameSortKey(row.name), row.name.toLowerCase(), row.id);
    })();
  }

  async insertAccount(row: AccountRow): Promise<void> {
    this.q.insertAccount.run(row.id, row.name, row.createdAt.getTime(), row.plan, row.admin ? 1 : 0);
  }
  async getAccount(id: string): Promise<AccountRow | undefined> {
    const r = this.q.getAccount.get(id) as AccountRecord | undefined;
    return r && accountOf(r);
  }
  async listAccounts(): Promise<AccountRow[]> {
    return (this.q.listAccounts.all() as AccountRecord[]).map(accountOf);
  }
  async setAccountPlan(id: string, plan: string | null): Promise<boolean> {
    return this.q.setAccountPlan.run(plan, id).changes > 0;
  }
  async insertFirstAccount(account: AccountRow, token: AccountTokenRow): Promise<boolean> {
    return writeTransaction(this.db, () => {
      if ((this.q.countAccounts.get() as { n: number }).n > 0) return false;
      this.q.insertAccount.run(account.id, account.name, account.createdAt.getTime(), account.plan, account.admin ? 1 : 0);
      this.q.insertAccountToken.run(token.id, token.accountId, token.tokenHash, token.name, token.createdAt.getTime(), token.expiresAt?.getTime() ?? null,
        token.permission, token.prefix, token.analysisId);
      return true;
    })();
  }
  async countAccounts(): Promise<number> {
    return (this.q.countAccounts.get() as { n: number }).n;
  }
  async insertAccountToken(row: AccountTokenRow): Promise<void> {
    this.q.insertAccountToken.run(row.id, row.accountId, row.tokenHash, row.name, row.createdAt.getTime(), row.expiresAt?.getTime() ?? null,
      row.permission, row.prefix, row.analysisId);
  }
  async findAccountTokenByHash(hash: string): Promise<AccountTokenRow | undefined> {
    const r = this.q.accountTokenByHash.get(hash) as AccountTokenRecord | undefined;
    return r && toAccountToken(r);
  }
  async findAccountToken(accountId: string, id: string): Promise<AccountTokenRow | undefined> {
    const r = this.q.accountTokenById.get(id, accountId) as AccountTokenRecord | undefined;
    return r && toAccountToken(r);
  }
  async listAccountTokens(accountId: string): Promise<AccountTokenRow[]> {
    return (this.q.accountTokens.all(accountId) as AccountTokenRecord[]).map(toAccountToken);
  }
  async deleteAccountToken(id: string): Promise<boolean> {
    return this.q.deleteAccountToken.run(id).changes > 0;
  }
  async touchAccountToken(id: string, at: Date): Promise<void> {
    this.q.touchAccountToken.run(at.getTime(), id);
  }
  async listAccountTokensExpiring(after: Date, upTo: Date): Promise<AccountTokenRow[]> {
    return (this.q.accountTokensExpiring.all(after.getTime(), upTo.getTime()) as AccountTokenRecord[]).map(toAccountToken);
  }

  async insertDevice(row: DeviceRow): Promise<void> {
    this.q.insertDevice.run(row.id, row.accountId, row.name, nameSortKey(row.name), row.name.toLowerCase(), row.active ? 1 : 0, JSON.stringify(row.tags),
      JSON.stringify(row.extra), row.createdAt.getTime(), row.updatedAt.getTime());
  }
  async updateDevice(row: DeviceRow): Promise<void> {
    this.q.updateDevice.run(row.name, nameSortKey(row.name), row.name.toLowerCase(), row.active ? 1 : 0, JSON.stringify(row.tags), JSON.stringify(row.extra),
      row.updatedAt.getTime(), row.id, row.accountId);
  }
  async getDevice(accountId: string, id: string): Promise<DeviceRow | undefined> {
    const r = this.q.getDevice.get(id, accountId) as DeviceRecord | undefined;
    return r && toDevice(r);
  }
  async countDevices(accountId: string): Promise<number> {
    return (this.q.countDevices.get(accountId) as { n: number }).n;
  }
  async listDevices(accountId: string, query: DeviceListQuery): Promise<DeviceRow[]> {
    const { sql, params } = deviceListSql(accountId, query);
    let statement = this.listStatements.get(sql);
    if (!statement) {
      if (this.listStatements.size >= 64) this.listStatements.clear();
      this.listStatements.set(sql, (statement = this.db.prepare<unknown[]>(sql)));
    }
    return (statement.all(...params) as DeviceRecord[]).map(toDevice);
  }
  async setLastInputs(entries: readonly (readonly [string, number])[]): Promise<void> {
    if (entries.length > 0) this.raiseLastInputs(entries);
  }
  async deleteDevice(accountId: string, id: string): Promise<boolean> {
    return this.q.deleteDevice.run(id, accountId).changes > 0;
  }

  async insertDeviceToken(row: DeviceTokenRow): Promise<void> {
    this.q.insertToken.run(row.id, row.deviceId, row.accountId, row.tokenHash, row.prefix, row.name, row.permission,
      row.createdAt.getTime(), row.expiresAt?.getTime() ?? null, row.serieNumber, row.mintedBy);
  }
  async findDeviceTokenByHash(hash: string): Promise<DeviceTokenRow | undefined> {
    const r = this.q.tokenByHash.get(hash) as TokenRecord | undefined;
    return r && toToken(r);
  }
  async findDeviceToken(accountId: string, id: string): Promise<DeviceTokenRow | undefined> {
    const r = this.q.tokenById.get(id, accountId) as TokenRecord | undefined;
    return r && toToken(r);
  }
  async listDeviceTokens(accountId: string, deviceId: string): Promise<DeviceTokenRow[]> {
    return (this.q.tokensByDevice.all(deviceId, accountId) as TokenRecord[]).map(toToken);
  }
  async deleteDeviceToken(id: string): Promise<boolean> {
    return this.q.deleteToken.run(id).changes > 0;
  }
  async touchDeviceToken(id: string, at: Date): Promise<void> {
    this.q.touchToken.run(at.getTime(), id);
  }
  async listTokensExpiring(after: Date, upTo: Date): Promise<DeviceTokenRow[]> {
    return (this.q.tokensExpiring.all(after.getTime(), upTo.getTime()) as TokenRecord[]).map(toToken);
  }
  async deleteDeviceTokensMintedBy(accountTokenId: string): Promise<string[]> {
    return (this.q.deleteTokensMintedBy.all(accountTokenId) as { id: string }[]).map((r) => r.id);
  }
}

interface AccountRecord {
  id: string;
  name: string;
  created_at: number;
  plan: string | null;
  admin: number;
}

function accountOf(r: AccountRecord): AccountRow {
  return { id: r.id, name: r.name, createdAt: new Date(r.created_at), plan: r.plan, admin: r.admin === 1 };
}
