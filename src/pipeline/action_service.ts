import { EventEmitter } from "node:events";
import { invalid, notFound } from "../errors.js";
import { generateId } from "../identity/tokens.js";
import type { ActionRepository } from "../store/sqlite/actions.js";
import { topicMatches } from "../mqtt/topics.js";
import { BudgetedCache, CacheBudget } from "../store/budgeted_cache.js";
import { validateKind, validateTrigger, type Action, type ActionParams, type MqttTopicTrigger, type TriggerKind } from "./action_model.js";

/** What a cached topic costs beside its characters: Map slot, key string header, list. */
const TOPIC_ENTRY_OVERHEAD = 96;
import type { ActionRegistry } from "./actions/registry.js";


const NO_ACTIONS: readonly Action[] = Object.freeze([]);

export interface ActionInput {
  name?: unknown;
  active?: unknown;
  description?: unknown;
  tags?: unknown;
  type?: unknown;
  trigger?: unknown;
  action?: unknown;
  trigger_when_unlock?: unknown;
  lock?: unknown;
}

/**
 * Actions of every account, held in memory (they are few and read on every message) and
 * written through to the store. Emits `changed` (accountId, remote) so trigger indexes rebuild;
 * `remote` is set when the change was read from the store after another node made it (a cluster
 * tells the other nodes of the others: cluster/control.ts).
 */
export class ActionService extends EventEmitter {
  private readonly byAccount = new Map<string, Map<string, Action>>();
  /**
   * Per account, per topic: the active mqtt_topic actions with a trigger row on that topic.
   * Read for every message a device publishes, so it is cached (devices reuse few topics) and
   * dropped whenever the account's actions change.
   */
  private readonly mqttByAccount = new Map<string, BudgetedCache<readonly Action[]>>();
  /** All accounts' topic caches draw on it (topics are up to 64 KiB each). */
  private readonly topicBudget: CacheBudget;
  /** Actions whose run time changed and is not stored yet (written in batches, see `touch`). */
  private readonly unsaved = new Set<Action>();
  private saveTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly repo: ActionRepository,
    private readonly registry: ActionRegistry,
    private readonly onError: (err: unknown) => void = () => undefined,
    /** Bytes of cached topic → actions lists, all accounts together (config `pipeline.actionTopicCacheBytes`). */
    topicCacheBytes = 16 * 1024 * 1024,
  ) {
    super();
    this.topicBudget = new CacheBudget(topicCacheBytes);
  }

  async load(): Promise<void> {
    for (const a of await this.repo.all()) this.accountMap(a.accountId).set(a.id, a);
  }

  private accountMap(accountId: string): Map<string, Action> {
    let m = this.byAccount.get(accountId);
    if (!m) {
      m = new Map();
      this.byAccount.set(accountId, m);
    }
    return m;
  }

  /** The account's active mqtt_topic actions having a trigger row whose filter matches `topic`. */
  mqttActionsFor(accountId: string, topic: string): readonly Action[] {
    // An account without actions caches nothing: its devices' topics cannot fill the budget.
    if (!this.byAccount.get(accountId)?.size) return NO_ACTIONS;
    let cache = this.mqttByAccount.get(accountId);
    if (!cache) {
      cache = new BudgetedCache(this.topicBudget);
      this.mqttByAccount.set(accountId, cache);
    }
    let list = cache.get(topic);
    if (!list) {
      list = this.list(accountId).filter(
        (a) => a.active && a.type === "mqtt_topic" && (a.trigger as MqttTopicTrigger[]).some((row) => topicMatches(row.topic, topic)),
      );
      cache.set(topic, list, TOPIC_ENTRY_OVERHEAD + topic.length * 2 + list.length * 8);
    }
    return list;
  }

  /** Bytes the topic caches hold, all accounts together. */
  get topicCacheUsed(): number {
    return this.topicBudget.used;
  }

  private dropTopicCache(accountId: string): void {
    const cache = this.mqttByAccount.get(accountId);
    if (!cache) return;
    this.topicBudget.unregister(cache as BudgetedCache<unknown>);
    this.mqttByAccount.delete(accountId);
  }

  /** `remote`: the change was made on another node of a cluster and is only applied here (cluster/control.ts). */
  private changed(accountId: string, remote = false): void {
    this.dropTopicCache(accountId);
    this.emit("changed", accountId, remote);
  }

  /**
   * Reads actions from the store again: one account's, when another node of a cluster changed
   * them (cluster/control.ts); every account's, for a node taking over the cluster's timers
   * (docs/cluster.md, "Once cluster-wide"), since other nodes may have changed any meanwhile.
   * A run time touched here and not saved yet moves to the new copy, so the batched save cannot
   * write the old copy over the other node's edit. Told as remote changes: not sent on again.
   */
  async reload(accountId?: string): Promise<void> {
    const fresh = new Map<string, Action[]>();
    for (const a of await this.repo.all()) {
      if (accountId !== undefined && a.accountId !== accountId) continue;
      const list = fresh.get(a.accountId);
      if (list) list.push(a);
      else fresh.set(a.accountId, [a]);
    }
    const accounts = accountId !== undefined ? [accountId] : new Set([...this.byAccount.keys(), ...fresh.keys()]);
    for (const id of accounts) this.replaceAccount(id, fresh.get(id) ?? []);
  }

  private replaceAccount(accountId: string, fresh: Action[]): void {
    const current = this.byAccount.get(accountId);
    const next = new Map(fresh.map((a) => [a.id, a]));
    for (const old of current?.values() ?? []) {
      if (!this.unsaved.delete(old)) continue;
      const replaced = next.get(old.id);
      if (!replaced) continue;
      if (old.last_triggered && (!replaced.last_triggered || replaced.last_triggered < old.last_triggered)) replaced.last_triggered = old.last_triggered;
      this.unsaved.add(replaced);
    }
    if (next.size > 0) this.byAccount.set(accountId, next);
    else this.byAccount.delete(accountId);
    this.changed(accountId, true);
  }

  list(accountId: string): Action[] {
    return [...(this.byAccount.get(accountId)?.values() ?? [])];
  }

  all(): Action[] {
    return [...this.byAccount.values()].flatMap((m) => [...m.values()]);
  }

  get(accountId: string, id: string): Action {
    const a = this.byAccount.get(accountId)?.get(id);
    if (!a) throw notFound("Action");
    return a;
  }

  async create(accountId: string, input: ActionInput): Promise<Action> {
    const now = new Date();
    const action: Action = {
      id: generateId(), accountId, name: "", active: true, description: null, tags: [], type: "mqtt_topic", trigger: [],
      action: { type: "" }, lock: false, trigger_when_unlock: false, last_triggered: null, createdAt: now, updatedAt: now,
    };
    this.apply(action, input, true);
    await this.repo.put(action);
    this.accountMap(accountId).set(action.id, action);
    this.changed(accountId);
    return action;
  }

  async edit(accountId: string, id: string, input: ActionInput): Promise<Action> {
    const current = this.get(accountId, id);
    const next: Action = { ...current, updatedAt: new Date() };
    this.apply(next, input, false);
    await this.repo.put(next);
    this.accountMap(accountId).set(id, next);
    this.changed(accountId);
    return next;
  }

  async delete(accountId: string, id: string): Promise<void> {
    this.get(accountId, id);
    await this.repo.delete(accountId, id);
    this.byAccount.get(accountId)?.delete(id);
    this.changed(accountId);
  }

  /**
   * Records a run (and a condition lock) without the validation of an edit. A lock change is
   * stored at once (it decides whether the action fires again, also after a restart); the run
   * time alone is stored within a second, in one batch: writing it per message cost as much
   * as storing the message's records.
   */
  async touch(action: Action, changes: { lock?: boolean }): Promise<void> {
    const current = this.byAccount.get(action.accountId)?.get(action.id);
    if (!current) return;
    current.last_triggered = new Date();
    if (changes.lock !== undefined && changes.lock !== current.lock) {
      current.lock = changes.lock;
      this.unsaved.delete(current);
      if (!this.stopped) await this.repo.put(current);
      return;
    }
    this.unsaved.add(current);
    if (!this.saveTimer && !this.stopped) {
      this.saveTimer = setTimeout(() => void this.flush(), 1000);
      this.saveTimer.unref();
    }
  }

  /** Stores the pending run times; a store failure is logged, never thrown (nobody awaits it). */
  async flush(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const pending = [...this.unsaved];
    this.unsaved.clear();
    for (const a of pending) {
      try {
        await this.repo.put(a);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  /** At shutdown: stores what is pending, then stops scheduling writes. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
  }

  private apply(a: Action, input: ActionInput, creating: boolean): void {
    if (creating || input.name !== undefined) {
      if (typeof input.name !== "string" || input.name.trim() === "") throw invalid("name is required");
      a.name = input.name;
    }
    if (input.active !== undefined) a.active = Boolean(input.active);
    if (input.description !== undefined) a.description = input.description === null ? null : String(input.description);
    if (input.tags !== undefined) {
      if (!Array.isArray(input.tags)) throw invalid("tags must be a list of { key, value }");
      a.tags = input.tags.map((t: { key?: unknown; value?: unknown }) => ({ key: String(t?.key ?? ""), value: String(t?.value ?? "") }));
    }
    if (input.trigger_when_unlock !== undefined) a.trigger_when_unlock = Boolean(input.trigger_when_unlock);
    if (input.lock !== undefined) a.lock = Boolean(input.lock);
    if (creating || input.type !== undefined) a.type = validateKind(input.type ?? "mqtt_topic");
    if (creating || input.trigger !== undefined || input.type !== undefined) {
      const rows = input.trigger ?? a.trigger;
      if (!Array.isArray(rows) || rows.length === 0) throw invalid("trigger must be a non-empty list");
      a.trigger = rows.map((row, i) => validateTrigger(a.type as TriggerKind, row, i));
    }
    if (creating || input.action !== undefined) {
      const params = input.action as ActionParams | undefined;
      if (!params || typeof params !== "object" || typeof params.type !== "string") throw invalid("action must be an object with a type");
      a.action = this.registry.validate(params);
    }
  }
}
