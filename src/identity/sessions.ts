import { randomBytes } from "node:crypto";
import type { UserSessionRepository, UserSessionRow } from "../store/types.js";
import type { RevocationEvent } from "./service.js";
import { generateId, hashToken } from "./tokens.js";

/** What a valid session cookie proves: a user of an account, signed in. */
export interface SessionPrincipal {
  sessionId: string;
  userId: string;
  accountId: string;
  /** The absolute end (the idle end moves with use). */
  expiresAt: Date;
}

export interface SessionOptions {
  /** A session not used for this long ends. */
  idleMs: number;
  /** A session ends this long after its sign-in, whatever its use. */
  maxAgeMs: number;
  /** Sessions one user holds; a new one past it ends the oldest. */
  maxPerUser: number;
}

/** 256 random bits, base64url (43 characters, all cookie-safe). */
const SESSION_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Sign-in sessions: a random token in the `sluice_session` cookie, only its SHA-256 stored (in
 * SQLite, so sessions survive a restart). A session ends at sign-out, after `idleMs` unused,
 * `maxAgeMs` after its sign-in, when its user is deleted or changes password (the user's other
 * sessions), and when its user signs in more than `maxPerUser` times (the oldest). Every end is
 * announced through `announce` (the identity service's `revoked` event, the one that closes SSE
 * streams of revoked tokens): a session's id stands in for a token id there.
 */
export class SessionService {
  private expiryTimer: NodeJS.Timeout | undefined;
  /** `last_seen_at` is written at most this often per session, not on every request. */
  private readonly touchEveryMs: number;

  constructor(
    private readonly repo: UserSessionRepository,
    private readonly options: SessionOptions,
    private readonly announce: (event: RevocationEvent) => void,
  ) {
    this.touchEveryMs = Math.min(60_000, Math.max(1, Math.floor(options.idleMs / 10)));
  }

  get maxAgeMs(): number {
    return this.options.maxAgeMs;
  }

  /** A new session for a user who just proved who they are; the token is returned once. */
  async start(user: { id: string; accountId: string }): Promise<{ token: string; session: UserSessionRow }> {
    const token = randomBytes(32).toString("base64url");
    const now = new Date();
    const session: UserSessionRow = {
      id: generateId(), tokenHash: hashToken(token), userId: user.id, accountId: user.accountId,
      createdAt: now, lastSeenAt: now, expiresAt: new Date(now.getTime() + this.options.maxAgeMs),
    };
    await this.repo.insertSession(session);
    this.ended(await this.repo.trimUserSessions(user.id, this.options.maxPerUser), "too many sessions: the oldest ended");
    return { token, session };
  }

  /** The session a cookie value names, if it is live. */
  async authenticate(token: string): Promise<SessionPrincipal | undefined> {
    if (!SESSION_TOKEN.test(token)) return undefined;
    const row = await this.repo.findSessionByHash(hashToken(token));
    if (!row) return undefined;
    const now = Date.now();
    if (row.expiresAt.getTime() <= now || row.lastSeenAt.getTime() + this.options.idleMs <= now) return undefined;
    if (now - row.lastSeenAt.getTime() >= this.touchEveryMs) await this.repo.touchSession(row.id, new Date(now));
    return { sessionId: row.id, userId: row.userId, accountId: row.accountId, expiresAt: row.expiresAt };
  }

  /** Signs out the session a cookie value names; false when there was none. */
  async end(token: string): Promise<boolean> {
    if (!SESSION_TOKEN.test(token)) return false;
    const row = await this.repo.findSessionByHash(hashToken(token));
    if (!row || !(await this.repo.deleteSession(row.id))) return false;
    this.ended([row.id], "signed out");
    return true;
  }

  /** Ends a user's sessions (but `except`, the one asking). */
  async endForUser(userId: string, reason: string, except?: string): Promise<void> {
    this.ended(await this.repo.deleteUserSessions(userId, except), reason);
  }

  /** Announces sessions deleted elsewhere (with their user). */
  ended(ids: string[], reason: string): void {
    if (ids.length > 0) this.announce({ tokenIds: ids, reason });
  }

  /** Deletes expired sessions every `intervalMs`, ending their streams. */
  startExpiryWatch(intervalMs = Math.min(1000, this.touchEveryMs)): void {
    let running = false;
    this.expiryTimer = setInterval(() => {
      // One sweep at a time; a failed one (the store unreachable) is let go: the next finds the same sessions.
      if (running) return;
      running = true;
      this.sweep().catch(() => undefined).finally(() => (running = false));
    }, intervalMs);
    this.expiryTimer.unref();
  }

  async sweep(now = new Date()): Promise<void> {
    this.ended(await this.repo.deleteExpiredSessions(now, new Date(now.getTime() - this.options.idleMs)), "session expired");
  }

  stop(): void {
    clearInterval(this.expiryTimer);
  }
}
