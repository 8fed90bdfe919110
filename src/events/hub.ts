/**
 * Live events for SSE clients, on TagoIO's channel names (`notification`, `analysis_trigger`,
 * `analysis_console.<analysis id>`...). A channel with an id is written `name.id`. Parts publish
 * to an account's channel; the `/events` route subscribes a stream to the channels it asked for.
 * Nothing is kept: a client that is not connected misses the event (the parts that need a
 * history, like notifications, keep their own and list it over HTTP).
 */
export type EventListener = (channel: string, payload: unknown) => void;

export interface EventHubOptions {
  /** Open subscriptions per account; past it `subscribe` refuses (default 100). */
  maxSubscribersPerAccount?: number;
}

export class TooManySubscribersError extends Error {
  readonly code = "TOO_MANY_STREAMS";
}

export class EventHub {
  /** `${accountId}\n${channel}` → listeners. */
  private readonly listeners = new Map<string, Set<EventListener>>();
  private readonly perAccount = new Map<string, number>();
  private readonly maxPerAccount: number;

  constructor(options: EventHubOptions = {}) {
    this.maxPerAccount = options.maxSubscribersPerAccount ?? 100;
  }

  /** Whether anyone listens (so a part can skip building an event nobody receives). */
  listening(accountId: string, channel: string): boolean {
    return this.listeners.has(key(accountId, channel));
  }

  publish(accountId: string, channel: string, payload: unknown): void {
    const set = this.listeners.get(key(accountId, channel));
    if (!set) return;
    for (const listener of [...set]) listener(channel, payload);
  }

  /** Subscribes to every channel in `channels`; returns the unsubscribe function. */
  subscribe(accountId: string, channels: readonly string[], listener: EventListener): () => void {
    const open = this.perAccount.get(accountId) ?? 0;
    if (open >= this.maxPerAccount) throw new TooManySubscribersError(`at most ${this.maxPerAccount} event streams per account`);
    this.perAccount.set(accountId, open + 1);
    const keys = [...new Set(channels)].map((channel) => key(accountId, channel));
    for (const k of keys) {
      let set = this.listeners.get(k);
      if (!set) this.listeners.set(k, (set = new Set()));
      set.add(listener);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const k of keys) {
        const set = this.listeners.get(k);
        set?.delete(listener);
        if (set?.size === 0) this.listeners.delete(k);
      }
      const n = (this.perAccount.get(accountId) ?? 1) - 1;
      if (n <= 0) this.perAccount.delete(accountId);
      else this.perAccount.set(accountId, n);
    };
  }
}

function key(accountId: string, channel: string): string {
  return `${accountId}\n${channel}`;
}
