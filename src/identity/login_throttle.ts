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

  fail(address: string, email?: string): void {
    const now = Date.now();
    this.byAddress.fail(address, now);
    if (email !== undefined) this.byEmail.fail(email, now);
  }

  succeed(email: string): void {
    this.byEmail.succeed(email);
  }
}
