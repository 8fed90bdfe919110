import type { BrokerHooks } from "./types.js";

const OBSERVERS = ["clientConnected", "clientDisconnected", "subscribed", "unsubscribed", "delivered"] as const;


/**
 * Builds the broker's hooks from the parts that provide them (access, plans, inspector,
 * pipeline...). Observers are called in turn, in the order the parts are given; a decider
 * (authenticate, authorize*, admit*, published) may come from one part only, since two
 * answers to one question would need a rule nobody wrote.
 */
export function composeHooks(...parts: Partial<BrokerHooks>[]): BrokerHooks {
  const composed: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [name, fn] of Object.entries(part)) {
      if (fn === undefined || (OBSERVERS as readonly string[]).includes(name)) continue;
      if (name in composed) throw new Error(`two parts provide the broker hook ${name}`);
      composed[name] = fn;
    }
  }
  for (const name of OBSERVERS) {
    const fns = parts.map((part) => part[name]).filter((fn) => fn !== undefined) as ((...args: unknown[]) => void)[];
    if (fns.length === 1) composed[name] = fns[0];
    else if (fns.length > 1) composed[name] = (...args: unknown[]) => {
      for (const fn of fns) fn(...args);
    };
  }
  if (typeof composed.authenticate !== "function") throw new Error("no part provides the broker hook authenticate");
  return composed as unknown as BrokerHooks;
}

