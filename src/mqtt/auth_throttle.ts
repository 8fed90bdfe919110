/**
 * Slows down password guessing: each failed CONNECT from an address waits longer before its
 * CONNACK (base, doubling per recent failure, capped). Failures are forgotten after a quiet
 * period, and the table is bounded so a spray of addresses cannot grow it without end.
 * HTTP sign-ins use it too (identity/login_throttle.ts), keyed by address and by email, and
 * refuse an attempt made before `waitLeft` is over instead of delaying the answer.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly forgetAfterMs = 10 * 60_000,
    private readonly maxTracked = 50_000,
  ) {}

  /** Records a failure and returns how long to wait before answering it. */
  fail(address: string, now = Date.now()): number {
    let entry = this.failures.get(address);
    if (!entry || now - entry.last > this.forgetAfterMs) entry = { count: 0, last: now };
    entry.count++;
    entry.last = now;
    this.failures.delete(address);
    this.failures.set(address, entry);
    if (this.failures.size > this.maxTracked) this.failures.delete(this.failures.keys().next().value!);
    return this.delayOf(entry.count);
  }

  /** How long after its last failure `address` must still wait before trying again (0: not at all). */
  waitLeft(address: string, now = Date.now()): number {
    const entry = this.failures.get(address);
    if (!entry || now - entry.last > this.forgetAfterMs) return 0;
    return Math.max(0, entry.last + this.delayOf(entry.count) - now);
  }

  private delayOf(count: number): number {
    return Math.min(this.baseMs * 2 ** Math.min(count - 1, 30), this.maxMs);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
}
