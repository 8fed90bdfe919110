/**
 * A token bucket holding up to `capacity` tokens, refilled continuously at `capacity` per
 * `periodMs`: a client may burst a whole period's allowance at once, then goes at the steady
 * rate. State is two numbers, and a take is a subtraction; no timers.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly perMs: number;

  constructor(
    readonly capacity: number,
    periodMs: number,
    now: number = Date.now(),
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
    this.perMs = capacity / periodMs;
  }

  /** Takes `n` tokens if there are that many; false (and nothing taken) otherwise. */
  take(now: number, n = 1): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are available (0 when they are now). */
  waitMs(now: number, n = 1): number {
    this.refill(now);
    return this.tokens >= n ? 0 : Math.ceil((n - this.tokens) / this.perMs);
  }

  /** Tokens taken and not yet refilled: the share of the allowance in use right now. */
  used(now: number): number {
    this.refill(now);
    return this.capacity - this.tokens;
  }

  private refill(now: number): void {
    if (now <= this.updatedAt) return;
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.perMs);
    this.updatedAt = now;
  }
}
