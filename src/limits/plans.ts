import type { PlanJson } from "../http/api_types.js";
import { invalid } from "../errors.js";

/**
 * What an account may use. Every count is a ceiling; `Infinity` means no limit (written `null`
 * in the config file, which has no infinity).
 */
export interface Plan {
  name: string;
  /** Devices the account may have. */
  devices: number;
  /** MQTT connections open at once, for the account and for one device. */
  connections: number;
  connectionsPerDevice: number;
  /** MQTT PUBLISH packets accepted per minute, for the account and for one connection. */
  publishesPerMinute: number;
  publishesPerMinutePerConnection: number;
  /**
   * Persistent sessions (they outlive their connection and queue QoS 1/2 messages while it is
   * gone), online or offline, for the account and for one device. The broker's
   * `mqtt.maxSessionsPerAccount`/`PerDevice` bound them too, whatever the plan.
   */
  persistentSessions: number;
  persistentSessionsPerDevice: number;
  /** Subscriptions held at once, for one connection and for the account. */
  subscriptionsPerConnection: number;
  subscriptions: number;
  /** Records stored, per minute and per calendar month (UTC). */
  recordsPerMinute: number;
  recordsPerMonth: number;
  /** Largest MQTT payload or HTTP body accepted, bytes. */
  maxPayloadBytes: number;
  analysisRunsPerMonth: number;
  notificationsPerMonth: number;
  /**
   * Emails sent per calendar month (UTC): `email` actions and the analysis email service
   * together. Mail goes out through the operator's SMTP account, whose reputation and bill
   * every account shares.
   */
  emailsPerMonth: number;
  /** MQTT relays the account may have (each holds a connection and a persisted queue). */
  relays: number;
  /** Dashboards the account may have (`dashboards.maxPerAccount` bounds every plan too). */
  dashboards: number;
  /** HTTP requests per minute, by TagoIO's request classes. */
  http: {
    /** `POST /data` and `GET /data`. */
    data: number;
    /** `PUT /data` and `DELETE /data`. */
    dataEdits: number;
    /** `GET /data?query=aggregate`. */
    aggregate: number;
    /** `POST /device`. */
    deviceCreates: number;
  };
  /** A client that connects more than `connects` times within `windowSeconds` is refused for `blockSeconds`. */
  flapping: { connects: number; windowSeconds: number; blockSeconds: number };
  /** `broker: false`: the account reaches the platform only through the relay and HTTP. */
  features: { broker: boolean; relay: boolean; analysis: boolean };
}

/** A plan as written in the config: any field may be left out (taken from `extends`), `null` = no limit. */
export type PlanConfig = { extends?: string } & { [K in keyof Plan]?: K extends "http" | "flapping" | "features" ? Partial<Record<keyof Plan[K], number | boolean | null>> : number | string | null };

const UNLIMITED: Omit<Plan, "name"> = {
  devices: Infinity,
  connections: Infinity,
  connectionsPerDevice: Infinity,
  persistentSessions: Infinity,
  persistentSessionsPerDevice: Infinity,
  publishesPerMinute: Infinity,
  publishesPerMinutePerConnection: Infinity,
  subscriptionsPerConnection: Infinity,
  subscriptions: Infinity,
  recordsPerMinute: Infinity,
  recordsPerMonth: Infinity,
  maxPayloadBytes: Infinity,
  analysisRunsPerMonth: Infinity,
  notificationsPerMonth: Infinity,
  emailsPerMonth: Infinity,
  relays: Infinity,
  dashboards: Infinity,
  http: { data: Infinity, dataEdits: Infinity, aggregate: Infinity, deviceCreates: Infinity },
  flapping: { connects: Infinity, windowSeconds: 60, blockSeconds: 60 },
  features: { broker: true, relay: true, analysis: true },
};

/**
 * The plans Sluice ships. Rates follow TagoIO's published per-minute limits for Free, Starter
 * and Scale (SPEC.md, "Hard limits"); the counts TagoIO does not publish are our choice.
 * `unlimited` is what a self-hosted single user gets by default (`defaultPlan`).
 */
export const BUILTIN_PLANS: Record<string, Omit<Plan, "name">> = {
  unlimited: UNLIMITED,
  free: {
    devices: 10,
    connections: 20,
    connectionsPerDevice: 2,
    persistentSessions: 20,
    persistentSessionsPerDevice: 2,
    publishesPerMinute: 250,
    publishesPerMinutePerConnection: 120,
    subscriptionsPerConnection: 20,
    subscriptions: 200,
    recordsPerMinute: 500,
    recordsPerMonth: 1_000_000,
    maxPayloadBytes: 64 * 1024,
    analysisRunsPerMonth: 3_000,
    notificationsPerMonth: 1_000,
    emailsPerMonth: 100,
    relays: 1,
    dashboards: 10,
    http: { data: 250, dataEdits: 60, aggregate: 5, deviceCreates: 10 },
    flapping: { connects: 10, windowSeconds: 60, blockSeconds: 60 },
    features: { broker: true, relay: true, analysis: true },
  },
  starter: {
    devices: 500,
    connections: 100,
    connectionsPerDevice: 2,
    persistentSessions: 500,
    persistentSessionsPerDevice: 2,
    publishesPerMinute: 5_000,
    publishesPerMinutePerConnection: 600,
    subscriptionsPerConnection: 50,
    subscriptions: 2_000,
    recordsPerMinute: 10_000,
    recordsPerMonth: 50_000_000,
    maxPayloadBytes: 256 * 1024,
    analysisRunsPerMonth: 100_000,
    notificationsPerMonth: 20_000,
    emailsPerMonth: 5_000,
    relays: 5,
    dashboards: 100,
    http: { data: 5_000, dataEdits: 250, aggregate: 10, deviceCreates: 250 },
    flapping: { connects: 20, windowSeconds: 60, blockSeconds: 30 },
    features: { broker: true, relay: true, analysis: true },
  },
  scale: {
    devices: 10_000,
    connections: 200,
    connectionsPerDevice: 4,
    persistentSessions: 1_000,
    persistentSessionsPerDevice: 4,
    publishesPerMinute: 15_000,
    publishesPerMinutePerConnection: 1_200,
    subscriptionsPerConnection: 100,
    subscriptions: 10_000,
    recordsPerMinute: 30_000,
    recordsPerMonth: 500_000_000,
    maxPayloadBytes: 1024 * 1024,
    analysisRunsPerMonth: 1_000_000,
    notificationsPerMonth: 200_000,
    emailsPerMonth: 50_000,
    relays: 20,
    dashboards: 1_000,
    http: { data: 15_000, dataEdits: 1_000, aggregate: 100, deviceCreates: 5_000 },
    flapping: { connects: 30, windowSeconds: 60, blockSeconds: 30 },
    features: { broker: true, relay: true, analysis: true },
  },
};

/**
 * Builds the plan table from the built-in plans and the config's. A configured plan starts from
 * the plan it `extends`, else from the built-in of the same name, else from `unlimited`.
 */
export function resolvePlans(configured: Record<string, PlanConfig> = {}): Map<string, Plan> {
  const builtin = (name: string): Plan => ({ name, ...structuredClone(BUILTIN_PLANS[name]!) });
  const plans = new Map<string, Plan>();
  const visiting = new Set<string>();
  const resolve = (name: string): Plan => {
    const known = plans.get(name);
    if (known) return known;
    const input = configured[name];
    if (!input) {
      if (!(name in BUILTIN_PLANS)) throw invalid(`plan "${name}" is not defined`);
      return builtin(name);
    }
    if (visiting.has(name)) throw invalid(`plan "${name}" extends itself through ${[...visiting].join(" → ")}`);
    visiting.add(name);
    const base = input.extends !== undefined && input.extends !== name ? resolve(input.extends) : builtin(name in BUILTIN_PLANS ? name : "unlimited");
    const plan = applyPlanConfig({ ...structuredClone(base), name }, input, name);
    visiting.delete(name);
    plans.set(name, plan);
    return plan;
  };
  for (const name of Object.keys(configured)) resolve(name);
  for (const name of Object.keys(BUILTIN_PLANS)) if (!plans.has(name)) plans.set(name, builtin(name));
  return plans;
}

function applyPlanConfig(plan: Plan, input: PlanConfig, name: string): Plan {
  const target = plan as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(input)) {
    if (key === "extends" || key === "name") continue;
    if (!(key in target)) throw invalid(`plans.${name}.${key} is not a plan setting`);
    if (key === "http" || key === "flapping" || key === "features") {
      const group = target[key] as Record<string, number | boolean>;
      for (const [inner, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        if (!(inner in group)) throw invalid(`plans.${name}.${key}.${inner} is not a plan setting`);
        group[inner] = key === "features" ? checkSwitch(v, `plans.${name}.${key}.${inner}`) : checkCount(v, `plans.${name}.${key}.${inner}`);
      }
      continue;
    }
    target[key] = checkCount(value, `plans.${name}.${key}`);
  }
  return plan;
}

function checkCount(value: unknown, where: string): number {
  if (value === null) return Infinity;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw invalid(`${where} must be a number ≥ 0, or null for no limit`);
  return value;
}

function checkSwitch(value: unknown, where: string): boolean {
  if (typeof value !== "boolean") throw invalid(`${where} must be true or false`);
  return value;
}

/** A plan as JSON (the API): no limit shows as null. */
export function planJson(plan: Plan): PlanJson {
  return JSON.parse(JSON.stringify(plan, (_key, value: unknown) => (value === Infinity ? null : value))) as PlanJson;
}
