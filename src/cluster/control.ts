import type { EventEmitter } from "node:events";
import type { RevocationEvent } from "../identity/service.js";
import type { Logger } from "../observability/logger.js";
import { decodeBusJson, encodeBusJson, idField, idList, textField } from "./bus_json.js";
import type { BusSubscription } from "./interest.js";
import type { ClusterStats } from "./stats.js";
import { SUBJECT_PREFIX } from "./subjects.js";

/**
 * What one node changes that every node must act on (docs/cluster.md, "Control across nodes"):
 * credentials that stopped being valid (their MQTT connections and SSE streams end wherever
 * they are), and the in-memory copies other nodes keep of what the shared store holds (devices,
 * actions, params, plans). Each node publishes its own changes on one control subject, and
 * applies the others' as if they had happened locally, without sending them on again.
 */
export const CONTROL_SUBJECT = `${SUBJECT_PREFIX}.x.control`;

/** The bus as control traffic needs it (`ClusterNode`). */
export interface ControlBus {
  readonly origin: string;
  readonly stats: ClusterStats;
  send(subject: string, data: Uint8Array): boolean;
  listen(subject: string, onMessage: (subject: string, data: Uint8Array) => void): BusSubscription;
}

/** The identity service's events (`revoked`, `deviceChanged`, `deviceCreated`, `planChanged`). */
export interface ControlIdentity extends EventEmitter {
  announceRevoked(event: RevocationEvent): void;
}

export interface ControlDeps {
  bus: ControlBus;
  identity: ControlIdentity;
  /** Actions held in memory: `changed` (accountId, remote?) when they change, `reload` to read an account's again. */
  actions: EventEmitter & { reload(accountId: string): Promise<void> };
  /** The params cache: `forget` drops a device's entry. */
  params: { forget(deviceId: string): void };
  /** Plans in memory: `assign` records an account's plan. */
  limits: { assign(accountId: string, plan: string | null): void };
  /** The inspector's on/off switches in memory. */
  inspector: { switchedElsewhere(deviceId: string, on: boolean): void };
  logger: Logger;
}

/** Token ids one revocation carries at most (an analysis's minted tokens); more are sent in several messages. */
const MAX_TOKENS_PER_MESSAGE = 5000;

export class ClusterControl {
  /** Set while a remote change is applied: the local listeners below must not send it back out. */
  private applying = false;
  private sub: BusSubscription | undefined;
  private readonly off: (() => void)[] = [];
  /** Accounts whose actions are being read again, and whether another change came meanwhile. */
  private readonly reloading = new Map<string, { again: boolean }>();

  constructor(private readonly deps: ControlDeps) {}

  start(): void {
    const { identity, actions } = this.deps;
    this.sub = this.deps.bus.listen(CONTROL_SUBJECT, (_subject, data) => this.heard(data));
    const on = <A extends unknown[]>(emitter: EventEmitter, event: string, fn: (...args: A) => void) => {
      // An EventEmitter's listeners are untyped; each one below names what its event carries.
      const listener = fn as unknown as (...args: unknown[]) => void;
      emitter.on(event, listener);
      this.off.push(() => emitter.off(event, listener));
    };
    on(identity, "revoked", (event: RevocationEvent) => {
      // Every node watches expiry itself, on the shared store: nothing to tell the others.
      if (this.applying || event.reason === "token expired") return;
      const ids = event.tokenIds ?? [];
      for (let i = 0; i < Math.max(1, ids.length); i += MAX_TOKENS_PER_MESSAGE) {
        const tokenIds = ids.slice(i, i + MAX_TOKENS_PER_MESSAGE);
        this.send("revoked", { ...(tokenIds.length > 0 && { tokenIds }), ...(event.deviceId !== undefined && { deviceId: event.deviceId }), reason: event.reason });
      }
    });
    on(identity, "deviceChanged", (event: { accountId: string; deviceId: string; deleted?: boolean; remote?: boolean }) => {
      if (this.applying || event.remote) return;
      this.send("device", { accountId: event.accountId, deviceId: event.deviceId, deleted: event.deleted === true });
    });
    on(identity, "deviceCreated", (event: { accountId: string; deviceId: string }) => {
      if (!this.applying) this.send("device", { accountId: event.accountId, deviceId: event.deviceId, deleted: false });
    });
    on(identity, "planChanged", (event: { accountId: string; plan: string | null }) => {
      if (!this.applying) this.send("plan", { accountId: event.accountId, plan: event.plan });
    });
    on(actions, "changed", (accountId: string, remote?: boolean) => {
      if (!this.applying && !remote) this.send("actions", { accountId });
    });
  }

  /** A device's params changed here (the params cache's `onChanged`). */
  paramsChanged(deviceId: string): void {
    this.send("params", { deviceId });
  }

  /** A device's inspector switch flipped and saved here: the others apply it without a restart. */
  inspectorSwitched(deviceId: string, on: boolean): void {
    this.send("inspector", { deviceId, on });
  }

  /**
   * One reload at a time per account, and one more after it when changes came meanwhile: a burst
   * of edits (or of forged messages) costs two reads, not one per message.
   */
  private reloadActions(accountId: string): void {
    const state = this.reloading.get(accountId);
    if (state) {
      state.again = true;
      return;
    }
    const run = (): void => {
      const current = { again: false };
      this.reloading.set(accountId, current);
      this.deps.actions.reload(accountId).catch((err: unknown) => this.deps.logger.error({ err, accountId }, "cluster: reloading an account's actions failed")).finally(() => {
        if (current.again) run();
        else this.reloading.delete(accountId);
      });
    };
    run();
  }

  stop(): void {
    for (const off of this.off.splice(0)) off();
    this.sub?.unsubscribe();
  }

  private send(kind: string, body: Record<string, unknown>): void {
    const bus = this.deps.bus;
    if (!bus.send(CONTROL_SUBJECT, encodeBusJson(bus.origin, kind, body))) {
      bus.stats.drop("unavailable");
      this.deps.logger.warn({ kind }, "cluster: a change could not be told to the other nodes (the bus is unreachable)");
    }
  }

  private heard(data: Uint8Array): void {
    const stats = this.deps.bus.stats;
    stats.controls++;
    const decoded = decodeBusJson(data);
    if (!decoded.ok) return stats.drop(decoded.reason);
    if (decoded.origin === this.deps.bus.origin) return stats.drop("own");
    if (!this.apply(decoded.kind, decoded.body)) stats.drop("malformed");
  }

  /** Applies one change from another node; false when it is not a change this node knows. */
  private apply(kind: string, o: Record<string, unknown>): boolean {
    const { identity, actions, params, limits, logger } = this.deps;
    this.applying = true;
    try {
      switch (kind) {
        case "revoked": {
          const tokenIds = o.tokenIds === undefined ? undefined : idList(o, "tokenIds", MAX_TOKENS_PER_MESSAGE);
          const deviceId = o.deviceId === undefined ? undefined : idField(o, "deviceId");
          const reason = textField(o, "reason", 200);
          if (reason === undefined || (o.tokenIds !== undefined && !tokenIds) || (o.deviceId !== undefined && !deviceId)) return false;
          if (!tokenIds && !deviceId) return false;
          identity.announceRevoked({ ...(tokenIds && { tokenIds }), ...(deviceId && { deviceId }), reason });
          return true;
        }
        case "device": {
          const accountId = idField(o, "accountId");
          const deviceId = idField(o, "deviceId");
          if (!accountId || !deviceId || typeof o.deleted !== "boolean") return false;
          // `remote`: what only the node that made the change does (dropping a deleted device's bucket) is not done again.
          identity.emit("deviceChanged", { accountId, deviceId, ...(o.deleted && { deleted: true }), remote: true });
          return true;
        }
        case "plan": {
          const accountId = idField(o, "accountId");
          const plan = o.plan === null ? null : idField(o, "plan");
          if (!accountId || plan === undefined) return false;
          try {
            limits.assign(accountId, plan);
          } catch (err) {
            logger.warn({ err, accountId, plan }, "cluster: another node assigned a plan this node does not define");
          }
          return true;
        }
        case "actions": {
          const accountId = idField(o, "accountId");
          if (!accountId) return false;
          this.reloadActions(accountId);
          return true;
        }
        case "params": {
          const deviceId = idField(o, "deviceId");
          if (!deviceId) return false;
          params.forget(deviceId);
          return true;
        }
        case "inspector": {
          const deviceId = idField(o, "deviceId");
          if (!deviceId || typeof o.on !== "boolean") return false;
          this.deps.inspector.switchedElsewhere(deviceId, o.on);
          return true;
        }
        default:
          return false;
      }
    } finally {
      this.applying = false;
    }
  }
}
