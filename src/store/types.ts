/**
 * Storage boundary. Everything Sluice persists goes through these interfaces so that the
 * embedded SQLite store and the PostgreSQL store of a later issue are interchangeable.
 * Methods return promises even where SQLite answers synchronously: PostgreSQL will not.
 */
export type Permission = "full" | "write" | "read";

export interface AccountRow {
  id: string;
  name: string;
  createdAt: Date;
  /** The account's plan; null: the configured default plan. */
  plan: string | null;
  /** The bootstrap account: it may create accounts and assign plans. */
  admin: boolean;
}

export interface AccountTokenRow {
  id: string;
  accountId: string;
  tokenHash: string;
  name: string;
  createdAt: Date;
  expiresAt: Date | null;
  /** `read`: safe methods only; `write`: no token management; `full`: everything (docs/accounts.md). */
  permission: Permission;
  /** First characters of the token, for masked lists; null for tokens made before migration 10. */
  prefix: string | null;
  lastAuthorization: Date | null;
  /** Set on an analysis's token (made and replaced by the analysis service, not by this API). */
  analysisId: string | null;
}

export interface DeviceRow {
  id: string;
  accountId: string;
  name: string;
  active: boolean;
  tags: { key: string; value: string }[];
  /** TagoIO fields Sluice stores but does not interpret (description, visible, type, ...). */
  extra: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** Newest message or data from the device as last written (`setLastInputs`); null: never. Set on reads. */
  lastInput?: Date | null;
}

/** Orders `listDevices` offers; ties fall to the id, in the same direction. */
export type DeviceOrder = "name" | "created_at" | "updated_at" | "last_input" | "active" | "visible";

/**
 * One page of an account's devices. Filters are `*` wildcard patterns (store/wildcard.ts),
 * matched case-insensitively: `name` and `id` against those fields, `active` against "true" or
 * "false"; each `tags` entry must match some tag of the device (an absent key or value matches
 * any). Names order by their sort key (store/name_key.ts); a null last input is listed last.
 */
export interface DeviceListQuery {
  limit: number;
  offset: number;
  order?: DeviceOrder;
  desc?: boolean;
  name?: string;
  id?: string;
  active?: string;
  tags?: { key?: string; value?: string }[];
}

export interface DeviceTokenRow {
  id: string;
  deviceId: string;
  accountId: string;
  tokenHash: string;
  /** First characters of the token, kept so lists can show which token is which. */
  prefix: string;
  name: string;
  permission: Permission;
  createdAt: Date;
  expiresAt: Date | null;
  serieNumber: string | null;
  lastAuthorization: Date | null;
  /**
   * The analysis token (its account token id) this token was created with, or null. Such a
   * token is revoked when that analysis token is regenerated.
   */
  mintedBy: string | null;
}

export interface IdentityRepository {
  insertAccount(row: AccountRow): Promise<void>;
  getAccount(id: string): Promise<AccountRow | undefined>;
  countAccounts(): Promise<number>;
  /**
   * Inserts the account and its token only while the store has no account at all, as one
   * atomic step: of several nodes starting at once on an empty database, exactly one gets true.
   */
  insertFirstAccount(account: AccountRow, token: AccountTokenRow): Promise<boolean>;
  listAccounts(): Promise<AccountRow[]>;
  setAccountPlan(id: string, plan: string | null): Promise<boolean>;
  insertAccountToken(row: AccountTokenRow): Promise<void>;
  findAccountTokenByHash(hash: string): Promise<AccountTokenRow | undefined>;
  findAccountToken(accountId: string, id: string): Promise<AccountTokenRow | undefined>;
  listAccountTokens(accountId: string): Promise<AccountTokenRow[]>;
  deleteAccountToken(id: string): Promise<boolean>;
  touchAccountToken(id: string, at: Date): Promise<void>;
  /** Account tokens whose expiry lies in (after, upTo]. */
  listAccountTokensExpiring(after: Date, upTo: Date): Promise<AccountTokenRow[]>;

  insertDevice(row: DeviceRow): Promise<void>;
  updateDevice(row: DeviceRow): Promise<void>;
  getDevice(accountId: string, id: string): Promise<DeviceRow | undefined>;
  countDevices(accountId: string): Promise<number>;
  listDevices(accountId: string, query: DeviceListQuery): Promise<DeviceRow[]>;
  /** Raises devices' last input to the given epoch ms (never lowers it), in one transaction. */
  setLastInputs(entries: readonly (readonly [deviceId: string, at: number])[]): Promise<void>;
  deleteDevice(accountId: string, id: string): Promise<boolean>;

  insertDeviceToken(row: DeviceTokenRow): Promise<void>;
  findDeviceTokenByHash(hash: string): Promise<DeviceTokenRow | undefined>;
  findDeviceToken(accountId: string, id: string): Promise<DeviceTokenRow | undefined>;
  listDeviceTokens(accountId: string, deviceId: string): Promise<DeviceTokenRow[]>;
  deleteDeviceToken(id: string): Promise<boolean>;
  touchDeviceToken(id: string, at: Date): Promise<void>;
  /** Tokens whose expiry lies in (after, upTo]. */
  listTokensExpiring(after: Date, upTo: Date): Promise<DeviceTokenRow[]>;
  /** Deletes the device tokens minted by an account token; returns their ids. */
  deleteDeviceTokensMintedBy(accountTokenId: string): Promise<string[]>;
}

/** A person who signs in to an account (docs/accounts.md, "Users"). */
export interface UserRow {
  id: string;
  accountId: string;
  /** Normalized: NFC, trimmed, lower case; unique across all accounts. */
  email: string;
  name: string;
  /** `scrypt$...` (identity/passwords.ts); null until set through the setup link. */
  passwordHash: string | null;
  createdAt: Date;
  lastLogin: Date | null;
}

/** A one-time setup link: sets a user's first password. Only its hash is stored. */
export interface SetupTokenRow {
  tokenHash: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface UserRepository {
  insertUser(row: UserRow): Promise<void>;
  getUser(accountId: string, id: string): Promise<UserRow | undefined>;
  /** By id alone, for credentials that name a user (setup links, sessions). */
  findUser(id: string): Promise<UserRow | undefined>;
  findUserByEmail(email: string): Promise<UserRow | undefined>;
  listUsers(accountId: string): Promise<UserRow[]>;
  countUsers(accountId: string): Promise<number>;
  /**
   * Deletes a user, and its sessions, unless it is the account's last user (checked in the same
   * transaction): the ids of the sessions deleted with it; "last" when refused, false when there
   * is no such user.
   */
  deleteUser(accountId: string, id: string): Promise<{ sessionIds: string[] } | false | "last">;
  setPassword(id: string, passwordHash: string): Promise<void>;
  touchLogin(id: string, at: Date): Promise<void>;
  /** Replaces the user's setup tokens with this one. */
  replaceSetupToken(row: SetupTokenRow): Promise<void>;
  findSetupToken(tokenHash: string): Promise<SetupTokenRow | undefined>;
  /** The user's setup token that has not expired at `now`, if any. */
  liveSetupToken(userId: string, now: Date): Promise<SetupTokenRow | undefined>;
  /** Sets the password and deletes the user's setup tokens, in one transaction; false when the token was gone already. */
  consumeSetupToken(tokenHash: string, passwordHash: string): Promise<boolean>;
}

/** A sign-in session (the `sluice_session` cookie). Only the token's hash is stored. */
export interface UserSessionRow {
  id: string;
  tokenHash: string;
  userId: string;
  accountId: string;
  createdAt: Date;
  /** Written at most every `touchEveryMs` (identity/sessions.ts), not on every request. */
  lastSeenAt: Date;
  /** The absolute end, whatever the use. */
  expiresAt: Date;
}

export interface UserSessionRepository {
  insertSession(row: UserSessionRow): Promise<void>;
  findSessionByHash(tokenHash: string): Promise<UserSessionRow | undefined>;
  touchSession(id: string, at: Date): Promise<void>;
  /** Deletes one session by id; false when it was gone. */
  deleteSession(id: string): Promise<boolean>;
  /** Deletes a user's sessions but `except`; returns their ids. */
  deleteUserSessions(userId: string, except?: string): Promise<string[]>;
  /** Deletes the user's oldest sessions so that at most `keep` remain; returns their ids. */
  trimUserSessions(userId: string, keep: number): Promise<string[]>;
  /** Deletes sessions past `expiresAt` or not seen since `idleBefore`; returns their ids. */
  deleteExpiredSessions(now: Date, idleBefore: Date): Promise<string[]>;
}

/** A message as the broker persists it (retained, or queued for an offline session). */
export interface StoredMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** MQTT 5 PUBLISH properties to forward, JSON-safe (Buffers as base64 under `$b64`). */
  properties: Record<string, unknown> | null;
  /** Absolute expiry (epoch ms) from the message expiry interval, or null. */
  expiresAt: number | null;
  /** The message's identity on a cluster's bus (`Message.busId`); kept by the PostgreSQL store only. */
  busId?: string | null;
}

export interface StoredSessionMessage extends StoredMessage {
  /** Queue order. */
  seq: number;
  /** `queued`: never sent; `inflight`: sent, awaiting PUBACK/PUBREC; `pubrel`: awaiting PUBCOMP. */
  state: "queued" | "inflight" | "pubrel";
  packetId: number | null;
}

/** One offline session's copy of a queued message (`SessionWrite` "queue"). */
export interface StoredCopy {
  clientId: string;
  seq: number;
  qos: 0 | 1 | 2;
  retain: boolean;
  subscriptionIds?: number[];
}

export interface StoredSubscription {
  filter: string;
  qos: 0 | 1 | 2;
  nl: boolean;
  rap: boolean;
  rh: 0 | 1 | 2;
  id?: number;
}

/** A session's own row: what changes on CONNECT and disconnection. */
export interface StoredSessionState {
  namespace: string;
  clientId: string;
  expiryInterval: number;
  /** Epoch ms the session went offline; null while connected. */
  disconnectedAt: number | null;
  /** Packet ids of QoS 2 messages received but not yet released (PUBREL). */
  incomingQos2: number[];
  principal: Record<string, unknown> | null;
}

export interface StoredSession extends StoredSessionState {
  subscriptions: StoredSubscription[];
  messages: StoredSessionMessage[];
}

/**
 * One change to stored sessions. Changes are written in the order given, many in one
 * transaction (session_persistence.ts), so each names only what it changes: a SUBSCRIBE its
 * filters, a message queued for an offline session that message.
 */
export type SessionWrite =
  /**
   * The session's row. `fresh`: a new session, whose client id may have had one before: its
   * subscriptions and messages go first. `messages`: replace the stored messages with these.
   */
  | { kind: "state"; state: StoredSessionState; fresh?: boolean; messages?: StoredSessionMessage[] }
  | { kind: "subscribe"; namespace: string; clientId: string; subscriptions: StoredSubscription[] }
  | { kind: "unsubscribe"; namespace: string; clientId: string; filters: string[] }
  /**
   * One message queued for offline sessions: the message once, and one compact copy per
   * session (its queue position and the flags its subscription gave it).
   */
  | { kind: "queue"; namespace: string; message: StoredMessage; copies: StoredCopy[] }
  | { kind: "delete"; namespace: string; clientId: string };

export interface BrokerRepository {
  loadRetained(): Promise<(StoredMessage & { namespace: string })[]>;
  /** Stores or (payload empty) deletes a retained message. */
  putRetained(namespace: string, message: StoredMessage): Promise<void>;
  loadSessions(): Promise<StoredSession[]>;
  /** Applies the changes in order, in one transaction: all of them or none (then it throws). */
  writeSessions(writes: SessionWrite[]): void | Promise<void>;
}

/**
 * Devices whose live inspector is switched off, so the switch survives a restart. Read whole at
 * start (the inspector keeps the set in memory); written as each switch flips.
 */
export interface InspectorSwitchStore {
  disabled(): Promise<string[]>;
  save(deviceId: string, enabled: boolean): Promise<void>;
}

export interface Store {
  readonly identity: IdentityRepository;
  readonly broker: BrokerRepository;
  close(): Promise<void>;
}
