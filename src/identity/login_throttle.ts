import { LimitExceeded } from "../limits/errors.js";
import { AuthThrottle } from "../mqtt/auth_throttle.js";

export interface LoginThrottleOptions {
  /** Wait after a failure, doubled per recent failure, capped at `maxMs`. */
  baseMs: number;
  maxMs: number;
  /** Addresses (and, separately, emails) remembered; past it the oldest are forgotten. */
  maxTracked: number;
}

/**
 * Failed sign-ins (password checks: `/account/login`, `/account/profile/token`, the password
 * change; and setup links), as failed MQTT CONNECTs are (mqtt/auth_throttle.ts), counted per
 * remote address and per email. After a failure the same address, and the same email, may try
 * again only after `baseMs`, doubling with each recent failure up to `maxMs`; an attempt before
 * that is refused at once (429 with Retry-After), its password not even checked, so parallel
 * requests gain nothing. The email is counted whether or not a user has it, so the throttle
 * does not tell which emails exist. Failures are forgotten after a quiet period. A success
 * forgets the email's failures but not the address's: otherwise anyone holding one account
 * could sign in between guesses and spray passwords over other emails at full speed.
 */
export class LoginThrottle {
  private readonly byAddress: AuthThrottle;
  private readonly byEmail: AuthThrottle;
  /**
   * Checks under way (a hash takes ~0.1 s), by address and by email: without this, guesses sent
   * in parallel would all pass `check` before the first failure is recorded. One at a time per
   * email, a few per address (people behind one NAT). Bounded by the hashes that may run or wait.
   */
  private readonly inFlightByAddress = new Map<string, number>();
  private readonly inFlightByEmail = new Map<string, number>();

  constructor(options: LoginThrottleOptions) {
    const forgetAfterMs = Math.max(15 * 60_000, 2 * options.maxMs);
    this.byAddress = new AuthThrottle(options.baseMs, options.maxMs, forgetAfterMs, options.maxTracked);
    this.byEmail = new AuthThrottle(options.baseMs, options.maxMs, forgetAfterMs, options.maxTracked);
  }

  /** Throws 429 when the address or the email must still wait. */
  check(address: string, email?: string): void {
    const now = Date.now();
    const wait = Math.max(this.byAddress.waitLeft(address, now), email === undefined ? 0 : this.byEmail.waitLeft(email, now));
    if (wait > 0) throw new LimitExceeded("login", "too many failed sign-ins; wait before trying again", wait);
  }

  /**
   * Starts a password check: throws 429 like `check`, and also while the same email (or more
   * than `MAX_IN_FLIGHT_PER_ADDRESS` checks of the address) is being checked. Returns the
   * function that ends it; call it once the check is over, whatever its outcome.
   */
  begin(address: string, email?: string): () => void {
    this.check(address, email);
    if ((this.inFlightByAddress.get(address) ?? 0) >= MAX_IN_FLIGHT_PER_ADDRESS || (email !== undefined && this.inFlightByEmail.has(email))) {
      throw new LimitExceeded("login", "a sign-in is already being checked; wait before trying again", 1000);
    }
    add(this.inFlightByAddress, address, 1);
    if (email !== undefined) add(this.inFlightByEmail, email, 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      add(this.inFlightByAddress, address, -1);
      if (email !== undefined) add(this.inFlightByEmail, email, -1);
    };
  }

  fail(address: string, email?: string): void {
    const now = Date.now();
    this.byAddress.fail(address, now);
    if (email !== undefined) this.byEmail.fail(email, now);
  }

  succeed(email: string): void {
    this.byEmail.succeed(email);
  }
}

/** Password checks of one address under way at once. */
const MAX_IN_FLIGHT_PER_ADDRESS = 4;

function add(counts: Map<string, number>, key: string, delta: number): void {
  const n = (counts.get(key) ?? 0) + delta;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
