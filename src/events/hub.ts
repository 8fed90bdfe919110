/**
 * Live events for SSE clients, on TagoIO's channel names (`notification`, `analysis_trigger`,
 * `analysis_console.<analysis id>`...). A channel with an id is written `name.id`. Parts publish
 * to an account's channel; the `/events` route subscribes a stream to the channels it asked for.
 * Nothing is kept: a client that is not connected misses the event (the parts that need a
 * history, like notifications, keep their own and list it over HTTP).
 *
 * A part whose events cost something to build may watch a channel name (`watch`): it hears
 * when a channel of that name gains its first listener and loses its last, so it can keep
 * ready only what someone listens to (dashboards/live.ts).
 */
export type EventListener = (channel: string, payload: unknown) => void;

/** `listening`: the channel just gained its first listener (true) or lost its last (false). */
export type ChannelObserver = (accountId: string, channel: string, listening: boolean) => void;

export interface EventHubOptions {
  /** Open subscriptions per account; past it `subscribe` refuses (default 100). */
  maxSubscribersPerAccount?: number;
}

/**
 * Whose allowance a subscription counts against: by default its account's (`maxSubscribersPerAccount`);
 * a stream opened without the account's token (a dashboard's public link) counts against its own.
 */
export interface SubscriptionQuota {
  key: string;
  max: number;
}

export class TooManySubscribersError extends Error {
  readonly code = "TOO_MANY_STREAMS";
}

export class EventHub {
  /** `${accountId}\n${channel}` → listeners. */
  private readonly listeners = new Map<string, Set<EventListener>>();
  /** Open subscriptions by quota key (the account id unless a quota was given). */
  private readonly open = new Map<string, number>();
  private readonly maxPerAccount: number;
  /** Channel name (before the dot) → observers. */
  private readonly observers = new Map<string, Set<ChannelObserver>>();

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

  /**
   * Tells `observer` whenever a channel named `name` (`name` or `name.<id>`) gains its first
   * listener or loses its last; channels already listened to are reported at once. Returns
   * the function that stops it.
   */
  watch(name: string, observer: ChannelObserver): () => void {
    let set = this.observers.get(name);
    if (!set) this.observers.set(name, (set = new Set()));
    set.add(observer);
    for (const k of this.listeners.keys()) {
      const [accountId, channel] = k.split("\n") as [string, string];
      if (nameOf(channel) === name) observer(accountId, channel, true);
    }
    return () => {
      set.delete(observer);
      if (set.size === 0 && this.observers.get(name) === set) this.observers.delete(name);
    };
  }

  /** Subscribes to every channel in `channels`; returns the unsubscribe function. */
  subscribe(accountId: string, channels: readonly string[], listener: EventListener, quota: SubscriptionQuota = { key: accountId, max: this.maxPerAccount }): () => void {
    const open = this.open.get(quota.key) ?? 0;
    if (open >= quota.max) throw new TooManySubscribersError(quota.key === accountId ? `at most ${quota.max} event streams per account` : `at most ${quota.max} event streams here`);
    this.open.set(quota.key, open + 1);
    const wanted = [...new Set(channels)];
    for (const channel of wanted) {
      const k = key(accountId, channel);
      let set = this.listeners.get(k);
      const first = !set;
      if (!set) this.listeners.set(k, (set = new Set()));
      set.add(listener);
      if (first) this.notify(accountId, channel, true);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const channel of wanted) {
        const k = key(accountId, channel);
        const set = this.listeners.get(k);
        set?.delete(listener);
        if (set?.size === 0) {
          this.listeners.delete(k);
          this.notify(accountId, channel, false);
        }
      }
      const n = (this.open.get(quota.key) ?? 1) - 1;
      if (n <= 0) this.open.delete(quota.key);
      else this.open.set(quota.key, n);
    };
  }

  private notify(accountId: string, channel: string, listening: boolean): void {
    if (this.observers.size === 0) return;
    for (const observer of this.observers.get(nameOf(channel)) ?? []) observer(accountId, channel, listening);
  }
}

function key(accountId: string, channel: string): string {
  return `${accountId}\n${channel}`;
}

function nameOf(channel: string): string {
  const dot = channel.indexOf(".");
  return dot === -1 ? channel : channel.slice(0, dot);
}
