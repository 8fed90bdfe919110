import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { invalid, SluiceError } from "../errors.js";

/**
 * Passwords, hashed with Node's built-in scrypt (OpenSSL's): N = 2^15, r = 8, p = 1 (32 MiB,
 * ~0.1 to 0.2 s), a random 16-byte salt per hash, 32-byte key, compared in constant time.
 * Stored as `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` (base64), so the cost can be raised later
 * and older hashes still verify (`needsRehash`). A password is never stored, logged or kept
 * past the call.
 *
 * Each hash takes 32 MiB and a libuv thread (the pool Node's file and DNS work share) for its
 * duration, so at most `concurrency` run at once and `queue` wait; one more is refused (503).
 */
export const MIN_PASSWORD_LENGTH = 8;
/** Longer input costs scrypt nothing much, but a bound keeps a request's work bounded. */
export const MAX_PASSWORD_LENGTH = 1024;

const LOG_N = 15;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

export interface PasswordHasherOptions {
  concurrency: number;
  queue: number;
}

/** The password policy: a string of 8 to 1024 characters. Throws 400 naming the rule. */
export function checkPasswordPolicy(password: unknown, field = "password"): string {
  if (typeof password !== "string") throw invalid(`${field} is required`);
  if ([...password].length < MIN_PASSWORD_LENGTH) throw invalid(`${field} must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw invalid(`${field} must be at most ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}

export class PasswordHasher {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** A hash of a random password: what an unknown email is checked against, for the same cost. */
  private dummy: Promise<string> | undefined;

  constructor(private readonly options: PasswordHasherOptions) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await this.derive(password, salt, LOG_N, R, P, KEY_BYTES);
    return `scrypt$${LOG_N}$${R}$${P}$${salt.toString("base64")}$${key.toString("base64")}`;
  }

  /**
   * Whether `password` matches `stored`. With no stored hash (an unknown email, a user whose
   * password is not set yet) a dummy hash is checked instead and the answer is false: the
   * caller cannot tell the cases apart by the time it took.
   */
  async verify(password: string, stored: string | null | undefined): Promise<boolean> {
    const parsed = stored ? parse(stored) : undefined;
    if (!parsed) {
      await this.verify(password, await (this.dummy ??= this.hash(randomBytes(16).toString("hex"))));
      return false;
    }
    const key = await this.derive(password, parsed.salt, parsed.logN, parsed.r, parsed.p, parsed.key.length);
    return timingSafeEqual(key, parsed.key);
  }

  /** Makes the dummy hash ahead of the first unknown email, so that one costs no more than the others. */
  async prepare(): Promise<void> {
    await (this.dummy ??= this.hash(randomBytes(16).toString("hex")));
  }

  /** A hash made with weaker parameters than today's: rehash it at the next successful sign-in. */
  needsRehash(stored: string): boolean {
    const parsed = parse(stored);
    return !parsed || parsed.logN < LOG_N || parsed.r < R || parsed.p < P;
  }

  private async derive(password: string, salt: Buffer, logN: number, r: number, p: number, keyBytes: number): Promise<Buffer> {
    await this.slot();
    try {
      const N = 2 ** logN;
      const options: ScryptOptions = { N, r, p, maxmem: 128 * N * r * 2 };
      return await new Promise<Buffer>((resolve, reject) => scrypt(password.normalize("NFC"), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key))));
    } finally {
      // The slot goes to the next waiting hash, or back to the pool.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private async slot(): Promise<void> {
    if (this.running < this.options.concurrency) {
      this.running++;
      return;
    }
    if (this.waiting.length >= this.options.queue) throw new SluiceError("BUSY", "Too many sign-ins at once; try again in a moment", 503);
    // The slot is handed over by the finishing hash (running stays counted).
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
}

function parse(stored: string): { logN: number; r: number; p: number; salt: Buffer; key: Buffer } | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 20 || r > 32 || p > 16) return undefined;
  const salt = Buffer.from(parts[4]!, "base64");
  const key = Buffer.from(parts[5]!, "base64");
  if (salt.length === 0 || key.length < 16) return undefined;
  return { logN, r, p, salt, key };
}
