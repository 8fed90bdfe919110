import { randomBytes } from "node:crypto";
import { invalid, notFound, SluiceError } from "../errors.js";
import type { UserRepository, UserRow } from "../store/types.js";
import { isEmail, normalizeEmail } from "./email.js";
import { checkPasswordPolicy, MAX_PASSWORD_LENGTH, type PasswordHasher } from "./passwords.js";
import type { SessionService } from "./sessions.js";
import { generateId, hashToken } from "./tokens.js";

export interface UserServiceOptions {
  /** Users per account; one more is refused (403). */
  maxPerAccount: number;
  /** How long a setup link stays valid. */
  setupLinkMs: number;
}

export interface NewUser {
  email: unknown;
  name: unknown;
  password: unknown;
}

const MAX_NAME_LENGTH = 200;

/**
 * Users: people who sign in to an account with an email (unique across accounts, compared
 * without case) and a password (scrypt, identity/passwords.ts). An account keeps at least one
 * user. Deleting a user or changing its password ends its sessions; a user created without a
 * password (the admin's first) gets one through a one-time setup link.
 */
export class UserService {
  constructor(
    private readonly repo: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly options: UserServiceOptions,
  ) {}

  async create(accountId: string, input: NewUser): Promise<UserRow> {
    const password = checkPasswordPolicy(input.password);
    return this.insert(accountId, input.email, input.name, await this.hasher.hash(password));
  }

  /** A user without a password yet (the admin's first user): it sets one through a setup link. */
  createWithoutPassword(accountId: string, email: string, name: string): Promise<UserRow> {
    return this.insert(accountId, email, name, null);
  }

  private async insert(accountId: string, emailInput: unknown, nameInput: unknown, passwordHash: string | null): Promise<UserRow> {
    if (typeof emailInput !== "string" || !isEmail(normalizeEmail(emailInput))) throw invalid("email must be an email address");
    if (typeof nameInput !== "string" || nameInput.trim() === "" || nameInput.length > MAX_NAME_LENGTH) {
      throw invalid(`name is required (at most ${MAX_NAME_LENGTH} characters)`);
    }
    const email = normalizeEmail(emailInput);
    if ((await this.repo.countUsers(accountId)) >= this.options.maxPerAccount) {
      throw new SluiceError("PLAN_LIMIT", `the account has ${this.options.maxPerAccount} users already (users.maxPerAccount)`, 403);
    }
    // One email, one user, whatever the account: an email is what signs in.
    if (await this.repo.findUserByEmail(email)) throw new SluiceError("EMAIL_TAKEN", "a user with this email exists already", 409);
    const row: UserRow = { id: generateId(), accountId, email, name: nameInput.trim(), passwordHash, createdAt: new Date(), lastLogin: null };
    try {
      await this.repo.insertUser(row);
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") throw new SluiceError("EMAIL_TAKEN", "a user with this email exists already", 409);
      throw err;
    }
    return row;
  }

  list(accountId: string): Promise<UserRow[]> {
    return this.repo.listUsers(accountId);
  }

  async get(accountId: string, id: string): Promise<UserRow> {
    const user = await this.repo.getUser(accountId, id);
    if (!user) throw notFound("User");
    return user;
  }

  /** Deletes a user and ends its sessions; the account's last user cannot be deleted (409). */
  async remove(accountId: string, id: string): Promise<void> {
    const result = await this.repo.deleteUser(accountId, id);
    if (result === false) throw notFound("User");
    if (result === "last") throw new SluiceError("LAST_USER", "this is the account's last user: create another before deleting it", 409);
    this.sessions.ended(result.sessionIds, "user deleted");
  }

  /**
   * The user an email and password name, or undefined: an unknown email, a user without a
   * password and a wrong password all cost one password hash and give the same answer.
   */
  async verify(emailInput: unknown, password: unknown): Promise<UserRow | undefined> {
    const email = typeof emailInput === "string" ? normalizeEmail(emailInput) : "";
    const candidate = typeof password === "string" && password.length <= MAX_PASSWORD_LENGTH ? password : "";
    const user = email === "" ? undefined : await this.repo.findUserByEmail(email);
    const matches = await this.hasher.verify(candidate, user?.passwordHash);
    if (!user || !matches || candidate === "") return undefined;
    if (this.hasher.needsRehash(user.passwordHash!)) await this.repo.setPassword(user.id, await this.hasher.hash(candidate));
    return user;
  }

  /** Records a sign-in (shown as `last_login`). */
  async signedIn(user: UserRow): Promise<void> {
    await this.repo.touchLogin(user.id, new Date());
  }

  /**
   * Changes a user's password, given its current one; ends the user's other sessions (`keep`
   * is the session asking, which stays signed in). A wrong current password is 403
   * `WRONG_PASSWORD` (false is returned before that, for the caller's throttle).
   */
  async changePassword(accountId: string, userId: string, current: unknown, next: unknown, keep?: string): Promise<boolean> {
    const password = checkPasswordPolicy(next);
    const user = await this.get(accountId, userId);
    if (typeof current !== "string" || !(await this.hasher.verify(current.length <= MAX_PASSWORD_LENGTH ? current : "", user.passwordHash))) return false;
    await this.repo.setPassword(user.id, await this.hasher.hash(password));
    await this.sessions.endForUser(user.id, "password changed", keep);
    return true;
  }

  /** A new setup link for a user (replacing any earlier one); the token is returned once. */
  async createSetupToken(userId: string): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString("base64url");
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.options.setupLinkMs);
    await this.repo.replaceSetupToken({ tokenHash: hashToken(token), userId, createdAt: now, expiresAt });
    return { token, expiresAt };
  }

  /** Whether the user has a setup link that has not expired. */
  async hasLiveSetupToken(userId: string): Promise<boolean> {
    return (await this.repo.liveSetupToken(userId, new Date())) !== undefined;
  }

  /**
   * Sets a password through a setup link and consumes it (it works once); undefined when the
   * link is unknown, used or expired. The user's sessions, if any, end.
   */
  async completeSetup(token: unknown, password: unknown): Promise<UserRow | undefined> {
    const chosen = checkPasswordPolicy(password);
    if (typeof token !== "string" || token.length > 200) return undefined;
    const tokenHash = hashToken(token);
    const setup = await this.repo.findSetupToken(tokenHash);
    if (!setup || setup.expiresAt.getTime() <= Date.now()) return undefined;
    const user = await this.repo.findUser(setup.userId);
    if (!user) return undefined;
    if (!(await this.repo.consumeSetupToken(tokenHash, await this.hasher.hash(chosen)))) return undefined;
    await this.sessions.endForUser(user.id, "password set through the setup link");
    return user;
  }
}
