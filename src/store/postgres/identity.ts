import { nameSortKey } from "../name_key.js";
import type { AccountRow, AccountTokenRow, DeviceListQuery, DeviceRow, DeviceTokenRow, IdentityRepository, Permission } from "../types.js";
import { deviceListSql } from "./device_list_sql.js";
import { all, one, transaction, type Pool, type Queryable } from "./pool.js";

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

interface AccountRecord { id: string; name: string; created_at: number; plan: string | null; admin: boolean }
interface AccountTokenRecord {
  id: string; account_id: string; token_hash: string; name: string; created_at: number; expires_at: number | null;
  permission: Permission; prefix: string | null; last_authorization: number | null; analysis_id: string | null;
}
interface DeviceRecord {
  id: string; account_id: string; name: string; active: boolean; tags: { key: string; value: string }[]; extra: string;
  created_at: number; updated_at: number; last_input: number | null;
}
interface TokenRecord {
  id: string; device_id: string; account_id: string; token_hash: string; prefix: string; name: string;
  permission: Permission; created_at: number; expires_at: number | null; serie_number: string | null;
  last_authorization: number | null; minted_by: string | null;
}

const toAccount = (r: AccountRecord): AccountRow => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at), plan: r.plan, admin: r.admin });
const toAccountToken = (r: AccountTokenRecord): AccountTokenRow => ({
  id: r.id, accountId: r.account_id, tokenHash: r.token_hash, name: r.name, createdAt: new Date(r.created_at),
  expiresAt: date(r.expires_at), permission: r.permission, prefix: r.prefix, lastAuthorization: date(r.last_authorization),
  analysisId: r.analysis_id,
});
const toDevice = (r: DeviceRecord): DeviceRow => ({
  id: r.id, accountId: r.account_id, name: r.name, active: r.active, tags: r.tags, extra: JSON.parse(r.extra),
  createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at), lastInput: date(r.last_input),
});
const toToken = (r: TokenRecord): DeviceTokenRow => ({
  id: r.id, deviceId: r.device_id, accountId: r.account_id, tokenHash: r.token_hash, prefix: r.prefix,
  name: r.name, permission: r.permission, createdAt: new Date(r.created_at), expiresAt: date(r.expires_at),
  serieNumber: r.serie_number, lastAuthorization: date(r.last_authorization), mintedBy: r.minted_by,
});

/** What SQL reads of a device beside its fields: sort key, lower cases, visibility (see migration 1). */
function derived(row: DeviceRow): [nameKey: string, nameLower: string, tagsLower: string, visible: boolean] {
  const tagsLower = row.tags.map((t) => ({ key: String(t.key).toLowerCase(), value: String(t.value).toLowerCase() }));
  return [nameSortKey(row.name), row.name.toLowerCase(), JSON.stringify(tagsLower), row.extra.visible !== false];
}

async function insertAccountRow(db: Queryable, row: AccountRow): Promise<void> {
  await db.query("INSERT INTO accounts (id, name, created_at, plan, admin) VALUES ($1, $2, $3, $4, $5)",
    [row.id, row.name, row.createdAt.getTime(), row.plan, row.admin]);
}

async function insertAccountTokenRow(db: Queryable, row: AccountTokenRow): Promise<void> {
  await db.query(
    `INSERT INTO account_tokens (id, account_id, token_hash, name, created_at, expires_at, permission, prefix, analysis_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [row.id, row.accountId, row.tokenHash, row.name, row.createdAt.getTime(), row.expiresAt?.getTime() ?? null, row.permission, row.prefix, row.analysisId],
  );
}

/** Held while a node checks for and creates the first (admin) account: nodes starting at once on an empty database take turns. */
const FIRST_ACCOUNT_LOCK = 0x736c_7569_6365_10n;

/** Accounts, devices and their tokens in PostgreSQL (migration 1). */
export class PgIdentityRepository implements IdentityRepository {
  constructor(private readonly pool: Pool) {}

  async insertAccount(row: AccountRow): Promise<void> {
    await insertAccountRow(this.pool, row);
  }
  async getAccount(id: string): Promise<AccountRow | undefined> {
    const r = await one<AccountRecord>(this.pool, "SELECT * FROM accounts WHERE id = $1", [id]);
    return r && toAccount(r);
  }
  async countAccounts(): Promise<number> {
    return (await one<{ n: number }>(this.pool, "SELECT count(*) AS n FROM accounts"))!.n;
  }
  async insertFirstAccount(account: AccountRow, token: AccountTokenRow): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      // A transaction-level lock: released by COMMIT or ROLLBACK, never left behind by a failure.
      await client.query("SELECT pg_advisory_xact_lock($1)", [FIRST_ACCOUNT_LOCK.toString()]);
      if ((await one<{ n: number }>(client, "SELECT count(*) AS n FROM (SELECT 1 FROM accounts LIMIT 1) a"))!.n > 0) return false;
      await insertAccountRow(client, account);
      await insertAccountTokenRow(client, token);
      return true;
    });
  }
  async listAccounts(): Promise<AccountRow[]> {
    return (await all<AccountRecord>(this.pool, "SELECT * FROM accounts ORDER BY created_at, rank")).map(toAccount);
  }
  async setAccountPlan(id: string, plan: string | null): Promise<boolean> {
    return ((await this.pool.query("UPDATE accounts SET plan = $1 WHERE id = $2", [plan, id])).rowCount ?? 0) > 0;
  }
  async insertAccountToken(row: AccountTokenRow): Promise<void> {
    await insertAccountTokenRow(this.pool, row);
  }
  async findAccountTokenByHash(hash: string): Promise<AccountTokenRow | undefined> {
    const r = await one<AccountTokenRecord>(this.pool, "SELECT * FROM account_tokens WHERE token_hash = $1", [hash]);
    return r && toAccountToken(r);
  }
  async findAccountToken(accountId: string, id: string): Promise<AccountTokenRow | undefined> {
    const r = await one<AccountTokenRecord>(this.pool, "SELECT * FROM account_tokens WHERE id = $1 AND account_id = $2", [id, accountId]);
    return r && toAccountToken(r);
  }
  async listAccountTokens(accountId: string): Promise<AccountTokenRow[]> {
    return (await all<AccountTokenRecord>(this.pool, "SELECT * FROM account_tokens WHERE account_id = $1 ORDER BY created_at, id", [accountId])).map(toAccountToken);
  }
  async deleteAccountToken(id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM account_tokens WHERE id = $1", [id])).rowCount ?? 0) > 0;
  }
  async touchAccountToken(id: string, at: Date): Promise<void> {
    await this.pool.query("UPDATE account_tokens SET last_authorization = $1 WHERE id = $2", [at.getTime(), id]);
  }
  async listAccountTokensExpiring(after: Date, upTo: Date): Promise<AccountTokenRow[]> {
    return (await all<AccountTokenRecord>(this.pool, "SELECT * FROM account_tokens WHERE expires_at > $1 AND expires_at <= $2",
      [after.getTime(), upTo.getTime()])).map(toAccountToken);
  }

  async insertDevice(row: DeviceRow): Promise<void> {
    const [nameKey, nameLower, tagsLower, visible] = derived(row);
    await this.pool.query(
      `INSERT INTO devices (id, account_id, name, name_key, name_lower, active, tags, tags_lower, extra, visible, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [row.id, row.accountId, row.name, nameKey, nameLower, row.active, JSON.stringify(row.tags), tagsLower, JSON.stringify(row.extra), visible,
        row.createdAt.getTime(), row.updatedAt.getTime()],
    );
  }
  async updateDevice(row: DeviceRow): Promise<void> {
    const [nameKey, nameLower, tagsLower, visible] = derived(row);
    await this.pool.query(
      `UPDATE devices SET name = $1, name_key = $2, name_lower = $3, active = $4, tags = $5, tags_lower = $6, extra = $7, visible = $8, updated_at = $9
       WHERE id = $10 AND account_id = $11`,
      [row.name, nameKey, nameLower, row.active, JSON.stringify(row.tags), tagsLower, JSON.stringify(row.extra), visible, row.updatedAt.getTime(), row.id, row.accountId],
    );
  }
  async getDevice(accountId: string, id: string): Promise<DeviceRow | undefined> {
    const r = await one<DeviceRecord>(this.pool, "SELECT * FROM devices WHERE id = $1 AND account_id = $2", [id, accountId]);
    return r && toDevice(r);
  }
  async countDevices(accountId: string): Promise<number> {
    return (await one<{ n: number }>(this.pool, "SELECT count(*) AS n FROM devices WHERE account_id = $1", [accountId]))!.n;
  }
  async listDevices(accountId: string, query: DeviceListQuery): Promise<DeviceRow[]> {
    const { sql, params } = deviceListSql(accountId, query);
    return (await all<DeviceRecord>(this.pool, sql, params)).map(toDevice);
  }
  async setLastInputs(entries: readonly (readonly [string, number])[]): Promise<void> {
    if (entries.length === 0) return;
    // One statement for the batch; ids sorted so concurrent batches lock rows in one order.
    const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    await this.pool.query(
      `UPDATE devices d SET last_input = u.at FROM (SELECT id, max(at) AS at FROM unnest($1::text[], $2::bigint[]) AS x(id, at) GROUP BY id) u
       WHERE d.id = u.id AND (d.last_input IS NULL OR d.last_input < u.at)`,
      [sorted.map((e) => e[0]), sorted.map((e) => e[1])],
    );
  }
  async deleteDevice(accountId: string, id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM devices WHERE id = $1 AND account_id = $2", [id, accountId])).rowCount ?? 0) > 0;
  }

  async insertDeviceToken(row: DeviceTokenRow): Promise<void> {
    await this.pool.query(
      `INSERT INTO device_tokens (id, device_id, account_id, token_hash, prefix, name, permission, created_at, expires_at, serie_number, minted_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [row.id, row.deviceId, row.accountId, row.tokenHash, row.prefix, row.name, row.permission, row.createdAt.getTime(),
        row.expiresAt?.getTime() ?? null, row.serieNumber, row.mintedBy],
    );
  }
  async findDeviceTokenByHash(hash: string): Promise<DeviceTokenRow | undefined> {
    const r = await one<TokenRecord>(this.pool, "SELECT * FROM device_tokens WHERE token_hash = $1", [hash]);
    return r && toToken(r);
  }
  async findDeviceToken(accountId: string, id: string): Promise<DeviceTokenRow | undefined> {
    const r = await one<TokenRecord>(this.pool, "SELECT * FROM device_tokens WHERE id = $1 AND account_id = $2", [id, accountId]);
    return r && toToken(r);
  }
  async listDeviceTokens(accountId: string, deviceId: string): Promise<DeviceTokenRow[]> {
    return (await all<TokenRecord>(this.pool, "SELECT * FROM device_tokens WHERE device_id = $1 AND account_id = $2 ORDER BY created_at, id",
      [deviceId, accountId])).map(toToken);
  }
  async deleteDeviceToken(id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM device_tokens WHERE id = $1", [id])).rowCount ?? 0) > 0;
  }
  async touchDeviceToken(id: string, at: Date): Promise<void> {
    await this.pool.query("UPDATE device_tokens SET last_authorization = $1 WHERE id = $2", [at.getTime(), id]);
  }
  async listTokensExpiring(after: Date, upTo: Date): Promise<DeviceTokenRow[]> {
    return (await all<TokenRecord>(this.pool, "SELECT * FROM device_tokens WHERE expires_at > $1 AND expires_at <= $2",
      [after.getTime(), upTo.getTime()])).map(toToken);
  }
  async deleteDeviceTokensMintedBy(accountTokenId: string): Promise<string[]> {
    return (await all<{ id: string }>(this.pool, "DELETE FROM device_tokens WHERE minted_by = $1 RETURNING id", [accountTokenId])).map((r) => r.id);
  }
}

