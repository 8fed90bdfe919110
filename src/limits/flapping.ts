/**
 * Connection flapping protection: a client (by device) that connects more than `connects`
 * times within `windowSeconds` is refused for `blockSeconds`. Attempts while blocked do not
 * count, so the block ends on time even if the client keeps knocking.
 */
export class FlappingGuard {
  private readonly entries = new Map<string, { attempts: number[]; blockedUntil: number }>();
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweepTimer = setInterval(() => this.sweep(), 60_000);
    this.sweepTimer.unref();
  }

  /**
   * Notes an attempt by `key`; returns the milliseconds it stays refused, or 0 when it may
   * connect.
   */
  attempt(key: string, rule: { connects: number; windowSeconds: number; blockSeconds: number }): number {
    if (!Number.isFinite(rule.connects)) return 0;
    const now = this.now();
    let entry = this.entries.get(key);
    if (!entry) this.entries.set(key, (entry = { attempts: [], blockedUntil: 0 }));
    if (now < entry.blockedUntil) return entry.blockedUntil - now;
    const windowStart = now - rule.windowSeconds * 1000;
    while (entry.attempts.length > 0 && entry.attempts[0]! <= windowStart) entry.attempts.shift();
    entry.attempts.push(now);
    if (entry.attempts.length <= rule.connects) return 0;
    entry.attempts.length = 0;
    entry.blockedUntil = now + rule.blockSeconds * 1000;
    return entry.blockedUntil - now;
  }

  stop(): void {
    clearInterval(this.sweepTimer);
  }

  /** Forgets keys with no recent attempt and no block (windows are at most minutes long). */
  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      const last = entry.attempts[entry.attempts.length - 1] ?? 0;
      if (entry.blockedUntil <= now && now - last > 3_600_000) this.entries.delete(key);
    }
  }
}
