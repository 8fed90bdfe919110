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

/**
 * Where a hub's events also go beyond this process: a cluster's event relay
 * (cluster/event_relay.ts). Absent on one node.
 */
export interface HubRelay {
  /** An event published here on a channel another node listens to. */
  forward(accountId: string, channel: string, payload: unknown): void;
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
  /** Channels (`${accountId}\n${channel}`) another node of a cluster listens to (`remoteInterest`). */
  private readonly remote = new Set<string>();
  private relay: HubRelay | undefined;
  /** Told when a channel gains its first local listener or loses its last (`onLocalInterest`). */
  private readonly localObservers = new Set<ChannelObserver>();

  constructor(options: EventHubOptions = {}) {
    this.maxPerAccount = options.maxSubscribersPerAccount ?? 100;
  }

  /** Whether anyone listens (so a part can skip building an event nobody receives). */
  listening(accountId: string, channel: string): boolean {
    const k = key(accountId, channel);
    return this.listeners.has(k) || this.remote.has(k);
  }

  publish(accountId: string, channel: string, payload: unknown): void {
    const k = key(accountId, channel);
    if (this.relay && this.remote.has(k)) this.relay.forward(accountId, channel, payload);
    this.deliver(accountId, channel, payload);
  }

  /** Hands an event to this process's listeners only: an event another node published. */
  deliver(accountId: string, channel: string, payload: unknown): void {
    const set = this.listeners.get(key(accountId, channel));
    if (!set) return;
    for (const listener of [...set]) listener(channel, payload);
  }

  /** Sends what is published on channels other nodes listen to through `relay` (a cluster). */
  attachRelay(relay: HubRelay | undefined): void {
    this.relay = relay;
  }

  /**
   * Another node gained its first listener on a channel (true) or the last node listening lost
   * it (false): parts watching the channel's name hear it as they hear local listeners.
   */
  remoteInterest(accountId: string, channel: string, listening: boolean): void {
    const k = key(accountId, channel);
    if (listening === this.remote.has(k)) return;
    if (listening) this.remote.add(k);
    else this.remote.delete(k);
    if (!this.listeners.has(k)) this.notify(accountId, channel, listening);
  }

  /** Tells `observer` when any channel gains its first local listener or loses its last; returns the function that stops it. */
  onLocalInterest(observer: ChannelObserver): () => void {
    this.localObservers.add(observer);
    for (const k of this.listeners.keys()) {
      const [accountId, channel] = k.split("\n") as [string, string];
      observer(accountId, channel, true);
    }
    return () => this.localObservers.delete(observer);
  }

  /** Channels listened to here, for a cluster's interest refresh. */
  localChannels(): { accountId: string; channel: string }[] {
    return [...this.listeners.keys()].map((k) => {
      const [accountId, channel] = k.split("\n") as [string, string];
      return { accountId, channel };
    });
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
    for (const k of new Set([...this.listeners.keys(), ...this.remote])) {
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
      if (first) this.localChanged(accountId, channel, true);
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
          this.localChanged(accountId, channel, false);
        }
      }
      const n = (this.open.get(quota.key) ?? 1) - 1;
      if (n <= 0) this.open.delete(quota.key);
      else this.open.set(quota.key, n);
    };
  }

  private localChanged(accountId: string, channel: string, listening: boolean): void {
    for (const observer of this.localObservers) observer(accountId, channel, listening);
    // Watchers hear the channel's state, local or remote: it changes only when no other node listens.
    if (!this.remote.has(key(accountId, channel))) this.notify(accountId, channel, listening);
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
