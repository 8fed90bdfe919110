import { EventEmitter } from "node:events";
import { invalid, notFound, SluiceError, unauthorized } from "../errors.js";
import type { AccountRow, AccountTokenRow, DeviceListQuery, DeviceRow, DeviceTokenRow, IdentityRepository, Permission } from "../store/types.js";
import { generateId, generateToken, hashToken } from "./tokens.js";

/** What a valid device token proves about its bearer. */
export interface DevicePrincipal {
  accountId: string;
  deviceId: string;
  tokenId: string;
  permission: Permission;
  expiresAt: Date | null;
}

/** What a valid account token proves about its bearer. */
export interface AccountPrincipal {
  accountId: string;
  tokenId: string;
  permission: Permission;
  expiresAt: Date | null;
  /** Set when the token is an analysis's token. */
  analysisId: string | null;
  /**
   * Set when the request is signed in by a session cookie rather than a token: `tokenId` is
   * then the session's id (http/auth.ts).
   */
  session?: { id: string; userId: string };
}

/**
 * How often an account token's `last_authorization` is written: every request reads the row,
 * but writing it on each one would turn every API call into a database write.
 */
const TOUCH_EVERY_MS = 60_000;

export interface NewDevice {
  name: string;
  active?: boolean;
  tags?: { key: string; value: string }[];
  extra?: Record<string, unknown>;
}

export interface NewToken {
  name?: string;
  permission?: Permission;
  expiresAt?: Date | null;
  serieNumber?: string | null;
}

/**
 * Events:
 * - `deviceChanged` ({ accountId, deviceId, deleted? }): a device was edited or deleted.
 * - `planChanged` ({ accountId, plan }): an account got a plan (assigned, or created with one).
 * - `revoked` ({ tokenIds?, deviceId?, reason }): credentials (device or account token ids)
 *   stopped being valid: revoked, expired, replaced, or their device or analysis deleted.
 *   Whoever holds live sessions on them (the broker's connections, the SSE streams) must end
 *   them; it is the one revocation signal, whatever kind the token is.
 */
export class IdentityService extends EventEmitter {
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryCheckedUpTo = new Date();

  constructor(private readonly repo: IdentityRepository) {
    super();
  }

  /** Creates the first account and its token on an empty store; returns the token, or null if accounts exist. */
  async bootstrapAdmin(): Promise<{ accountId: string; token: string } | null> {
    if ((await this.repo.countAccounts()) > 0) return null;
    // Checked again atomically by the store: nodes starting at once on one empty database make one admin.
    const accountId = generateId();
    const { row, token } = accountTokenOf(accountId, { name: "admin" });
    const made = await this.repo.insertFirstAccount({ id: accountId, name: "admin", createdAt: new Date(), plan: null, admin: true }, row);
    return made ? { accountId, token } : null;
  }

  /** A new account with one account token (shown once). */
  async createAccount(name: string, options: { plan?: string; admin?: boolean } = {}): Promise<{ accountId: string; token: string }> {
    const accountId = generateId();
    await this.repo.insertAccount({ id: accountId, name, createdAt: new Date(), plan: options.plan ?? null, admin: options.admin === true });
    const token = await this.createAccountToken(accountId, name);
    // Other nodes of a cluster assign plans from this event (cluster/control.ts).
    if (options.plan) this.emit("planChanged", { accountId, plan: options.plan });
    return { accountId, token };
  }

  async createAccountToken(accountId: string, name: string): Promise<string> {
    return (await this.issueAccountToken(accountId, { name })).token;
  }

  /** A new account token (returned once; only its hash and first characters are stored). */
  async issueAccountToken(accountId: string, input: NewToken): Promise<{ row: AccountTokenRow; token: string }> {
    const permission = input.permission ?? "full";
    // Every account route would need its own read/write rule, and an account can read its
    // analyses' tokens (full ones): a read or write account token would promise a limit it
    // cannot keep. So account tokens are full, and say so instead of pretending.
    if (permission !== "full") throw invalid('permission must be "full": Sluice account tokens are full tokens (device tokens have read and write)');
    if (input.expiresAt && Number.isNaN(input.expiresAt.getTime())) throw invalid("expire_time is not a valid date");
    const { row, token } = accountTokenOf(accountId, { ...input, permission });
    await this.repo.insertAccountToken(row);
    return { row, token };
  }

  listAccountTokens(accountId: string): Promise<AccountTokenRow[]> {
    return this.repo.listAccountTokens(accountId);
  }

  /**
   * Revokes an account token by the token itself or by its id. Refused (409) for an analysis's
   * token (regenerating or deleting the analysis replaces it; revoking it here would leave the
   * analysis showing a dead token), and for the account's last valid full token that is not an
   * analysis's: without one the account could not list, create or revoke tokens any more.
   */
  async revokeAccountToken(accountId: string, tokenOrId: string): Promise<AccountTokenRow> {
    const byHash = await this.repo.findAccountTokenByHash(hashToken(tokenOrId));
    const row = byHash?.accountId === accountId ? byHash : await this.repo.findAccountToken(accountId, tokenOrId);
    if (!row) throw notFound("Token");
    if (row.analysisId !== null) {
      throw new SluiceError("ANALYSIS_TOKEN", "this is an analysis's token: regenerate it with the analysis (GET /analysis/:id/token) instead", 409);
    }
    if (isManagementToken(row)) {
      const others = (await this.repo.listAccountTokens(accountId)).filter((t) => t.id !== row.id && isManagementToken(t));
      if (others.length === 0) {
        throw new SluiceError("LAST_FULL_TOKEN", "this is the account's last full token: create another full token before revoking it", 409);
      }
    }
    await this.repo.deleteAccountToken(row.id);
    this.emit("revoked", { tokenIds: [row.id], reason: "token revoked" });
    return row;
  }

  /** Passes on a revocation decided elsewhere (an analysis token replaced or deleted with its analysis). */
  announceRevoked(event: RevocationEvent): void {
    this.emit("revoked", event);
  }

  async getAccount(id: string): Promise<AccountRow> {
    const account = await this.repo.getAccount(id);
    if (!account) throw notFound("account");
    return account;
  }

  listAccounts(): Promise<AccountRow[]> {
    return this.repo.listAccounts();
  }

  /** Assigns a plan (null: the default one); emits `planChanged` with `{ accountId, plan }`. */
  async setAccountPlan(id: string, plan: string | null): Promise<void> {
    if (!(await this.repo.setAccountPlan(id, plan))) throw notFound("account");
    this.emit("planChanged", { accountId: id, plan });
  }

  /** Resolves an account token to its account id, or undefined. */
  async authenticateAccount(token: string): Promise<string | undefined> {
    return (await this.authenticateAccountToken(token))?.accountId;
  }

  /** Resolves an account token to its principal, or undefined when unknown or expired. */
  async authenticateAccountToken(token: string): Promise<AccountPrincipal | undefined> {
    const row = await this.repo.findAccountTokenByHash(hashToken(token));
    const now = Date.now();
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= now)) return undefined;
    if (row.lastAuthorization === null || now - row.lastAuthorization.getTime() >= TOUCH_EVERY_MS) {
      // When a token was last used is informative only: a write that fails (the store unreachable) is let go, never a crash.
      this.repo.touchAccountToken(row.id, new Date(now)).catch(() => undefined);
    }
    return { accountId: row.accountId, tokenId: row.id, permission: row.permission, expiresAt: row.expiresAt, analysisId: row.analysisId };
  }

  /** Resolves a device token to its principal, or undefined when unknown or expired. */
  async authenticateDevice(token: string): Promise<DevicePrincipal | undefined> {
    const row = await this.repo.findDeviceTokenByHash(hashToken(token));
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
    const device = await this.repo.getDevice(row.accountId, row.deviceId);
    if (!device || !device.active) return undefined;
    this.repo.touchDeviceToken(row.id, new Date()).catch(() => undefined); // informative only, as for account tokens
    return { accountId: row.accountId, deviceId: row.deviceId, tokenId: row.id, permission: row.permission, expiresAt: row.expiresAt };
  }

  /**
   * `mintedBy`: the analysis token (account token id) the device is created with, if any; the
   * device's first token is bound to it like any token it creates (`createToken`).
   */
  async createDevice(accountId: string, input: NewDevice, mintedBy: string | null = null): Promise<{ device: DeviceRow; token: string }> {
    if (typeof input.name !== "string" || input.name.trim() === "") throw invalid("name is required");
    const now = new Date();
    const device: DeviceRow = {
      id: generateId(), accountId, name: input.name, active: input.active ?? true,
      tags: input.tags ?? [], extra: input.extra ?? {}, createdAt: now, updatedAt: now,
    };
    await this.repo.insertDevice(device);
    let token: string;
    try {
      ({ token } = await this.createToken(accountId, device.id, { name: "Default", permission: "full" }, mintedBy));
    } catch (err) {
      await this.repo.deleteDevice(accountId, device.id); // no device left behind without its token
      throw err;
    }
    this.emit("deviceCreated", { accountId, deviceId: device.id });
    return { device, token };
  }

  async getDevice(accountId: string, id: string): Promise<DeviceRow> {
    const device = await this.repo.getDevice(accountId, id);
    if (!device) throw notFound("Device");
    return device;
  }

  countDevices(accountId: string): Promise<number> {
    return this.repo.countDevices(accountId);
  }

  /** One page of the account's devices, filtered and ordered by the store (`DeviceListQuery`). */
  listDevices(accountId: string, query: DeviceListQuery): Promise<DeviceRow[]> {
    return this.repo.listDevices(accountId, query);
  }

  /** Raises devices' last input (identity/last_input.ts writes its batches through here). */
  setLastInputs(entries: readonly (readonly [deviceId: string, at: number])[]): Promise<void> {
    return this.repo.setLastInputs(entries);
  }

  async updateDevice(accountId: string, id: string, patch: Partial<NewDevice>): Promise<DeviceRow> {
    const device = await this.getDevice(accountId, id);
    if (patch.name !== undefined) {
      if (typeof patch.name !== "string" || patch.name.trim() === "") throw invalid("name must be a non-empty string");
      device.name = patch.name;
    }
    if (patch.active !== undefined) device.active = Boolean(patch.active);
    if (patch.tags !== undefined) device.tags = patch.tags;
    if (patch.extra !== undefined) device.extra = { ...device.extra, ...patch.extra };
    device.updatedAt = new Date();
    await this.repo.updateDevice(device);
    this.emit("deviceChanged", { accountId, deviceId: id });
    if (!device.active) this.emit("revoked", { deviceId: id, reason: "device deactivated" });
    return device;
  }

  async deleteDevice(accountId: string, id: string): Promise<void> {
    if (!(await this.repo.deleteDevice(accountId, id))) throw notFound("Device");
    this.emit("deviceChanged", { accountId, deviceId: id, deleted: true });
    this.emit("revoked", { deviceId: id, reason: "device deleted" });
  }

  /**
   * `mintedBy`: the analysis token (account token id) creating it, if any. Such a token is
   * bound to it and revoked when it is regenerated (`revokeMintedBy`): a leaked analysis token
   * must not leave device credentials behind that outlive it.
   */
  async createToken(
    accountId: string, deviceId: string, input: NewToken, mintedBy: string | null = null,
  ): Promise<{ row: DeviceTokenRow; token: string }> {
    await this.getDevice(accountId, deviceId);
    const permission = input.permission ?? "full";
    if (!["full", "write", "read"].includes(permission)) throw invalid("permission must be full, write or read");
    if (input.expiresAt && Number.isNaN(input.expiresAt.getTime())) throw invalid("expire_time is not a valid date");
    const token = generateToken();
    const row: DeviceTokenRow = {
      id: generateId(), deviceId, accountId, tokenHash: hashToken(token), prefix: token.slice(0, 8),
      name: input.name ?? "Token", permission, createdAt: new Date(), expiresAt: input.expiresAt ?? null,
      serieNumber: input.serieNumber ?? null, lastAuthorization: null, mintedBy,
    };
    await this.repo.insertDeviceToken(row);
    // The minting token was authenticated before this request's awaits: if it was regenerated
    // meanwhile (its row is gone), `revokeMintedBy` may already have run and missed this row.
    if (mintedBy !== null && !(await this.repo.findAccountToken(accountId, mintedBy))) {
      await this.repo.deleteDeviceToken(row.id);
      throw unauthorized("Authorization denied: the token creating this device token was revoked meanwhile");
    }
    return { row, token };
  }

  async listTokens(accountId: string, deviceId: string): Promise<DeviceTokenRow[]> {
    await this.getDevice(accountId, deviceId);
    return this.repo.listDeviceTokens(accountId, deviceId);
  }

  /** Revokes by the token itself or by its id (lists only show ids, the token is shown once). */
  async revokeToken(accountId: string, tokenOrId: string): Promise<void> {
    const row =
      (await this.repo.findDeviceTokenByHash(hashToken(tokenOrId))) ?? (await this.repo.findDeviceToken(accountId, tokenOrId));
    if (!row || row.accountId !== accountId) throw notFound("Token");
    await this.repo.deleteDeviceToken(row.id);
    this.emit("revoked", { tokenIds: [row.id], reason: "token revoked" });
  }

  /**
   * Revokes the device tokens minted by an account token (an analysis token being
   * regenerated), ending their live sessions through the `revoked` event; returns how many.
   */
  async revokeMintedBy(accountTokenId: string, reason: string): Promise<number> {
    const ids = await this.repo.deleteDeviceTokensMintedBy(accountTokenId);
    if (ids.length > 0) this.emit("revoked", { tokenIds: ids, reason });
    return ids.length;
  }

  /** Watches token expiry so that live sessions on an expiring token end on time (checked every `intervalMs`). */
  startExpiryWatch(intervalMs = 250): void {
    let running = false;
    this.expiryTimer = setInterval(() => {
      // One check at a time (a slow store must not pile them up). A failed check (the store
      // unreachable) is let go: the window is not advanced, so the next one covers it.
      if (running) return;
      running = true;
      this.checkExpiry().catch(() => undefined).finally(() => (running = false));
    }, intervalMs);
    this.expiryTimer.unref();
  }

  private async checkExpiry(): Promise<void> {
    const now = new Date();
    const expired = [
      ...(await this.repo.listTokensExpiring(this.expiryCheckedUpTo, now)),
      ...(await this.repo.listAccountTokensExpiring(this.expiryCheckedUpTo, now)),
    ];
    this.expiryCheckedUpTo = now;
    if (expired.length > 0) this.emit("revoked", { tokenIds: expired.map((t) => t.id), reason: "token expired" });
  }

  stop(): void {
    clearInterval(this.expiryTimer);
  }
}

/** A token that can manage the account's tokens, and so can always get the account back. */
function isManagementToken(row: AccountTokenRow): boolean {
  return row.permission === "full" && row.analysisId === null && (row.expiresAt === null || row.expiresAt.getTime() > Date.now());
}

export interface RevocationEvent {
  tokenIds?: string[];
  deviceId?: string;
  reason: string;
}

/** A new full account token's row and the token itself (only its hash and first characters are stored). */
function accountTokenOf(accountId: string, input: NewToken): { row: AccountTokenRow; token: string } {
  const token = generateToken();
  const row: AccountTokenRow = {
    id: generateId(), accountId, tokenHash: hashToken(token), name: input.name ?? "Token", createdAt: new Date(),
    expiresAt: input.expiresAt ?? null, permission: input.permission ?? "full", prefix: token.slice(0, 8), lastAuthorization: null, analysisId: null,
  };
  return { row, token };
}
