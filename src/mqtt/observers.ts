import type { BrokerHooks } from "./types.js";

type ObserverName = "clientConnected" | "clientDisconnected" | "subscribed" | "unsubscribed" | "delivered";
export type Observers = Partial<Pick<BrokerHooks, ObserverName>>;

const NAMES: readonly ObserverName[] = ["clientConnected", "clientDisconnected", "subscribed", "unsubscribed", "delivered"];

/**
 * Several parts observing the broker (the inspector, device event triggers...) as one set of
 * hooks: each observer calls them all, in the order given. An observer only one part has is
 * passed through as it is (`delivered` runs for every message sent), and one nobody has stays
 * unset, so the broker skips it.
 */
export function combineObservers(...parts: Observers[]): Observers {
  const out: Observers = {};
  for (const name of NAMES) {
    const fns = parts.map((p) => p[name]).filter((f) => f !== undefined) as ((...args: unknown[]) => void)[];
    if (fns.length === 0) continue;
    const combined = fns.length === 1 ? fns[0]! : (...args: unknown[]) => {
      for (const f of fns) f(...args);
    };
    (out as Record<ObserverName, unknown>)[name] = combined;
  }
  return out;
}
