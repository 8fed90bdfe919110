import { BudgetedCache, CacheBudget } from "../store/budgeted_cache.js";
import type { SubscriptionOptions } from "./types.js";

/** A subscriber entry: whose subscription it is, and with which options. */
export interface Subscriber<S> {
  session: S;
  options: SubscriptionOptions;
}

/** The members of one `$share/{group}/{filter}`; each message goes to one of them, in turn. */
export class SharedGroup<S> {
  readonly members = new Map<string, Subscriber<S>>();
  cursor = 0;
  constructor(readonly name: string, readonly filter: string) {}
}

class TrieNode<S> {
  children: Map<string, TrieNode<S>> | undefined;
  subscribers: Map<string, Subscriber<S>> | undefined;
  groups: Map<string, SharedGroup<S>> | undefined;

  isEmpty(): boolean {
    return !this.children?.size && !this.subscribers?.size && !this.groups?.size;
  }
}

export interface MatchResult<S> {
  subscribers: Subscriber<S>[];
  groups: SharedGroup<S>[];
}

/** For a tree used on its own (tests): a budget of its own. */
const STANDALONE_CACHE_BYTES = 4 * 1024 * 1024;

/**
 * Subscriptions of one namespace, as a trie over topic levels. Matching walks only the
 * branches a topic can reach (exact level, `+`, `#`), so its cost depends on the topic's depth,
 * not on how many subscriptions exist. Results are cached per topic until the next change,
 * since devices publish to the same few topics over and over; the cache is counted in bytes
 * against a budget shared by every namespace (store/budgeted_cache.ts).
 */
export class SubscriptionTree<S> {
  private readonly root = new TrieNode<S>();
  private readonly cache: BudgetedCache<MatchResult<S>>;
  private count = 0;

  constructor(budget: CacheBudget = new CacheBudget(STANDALONE_CACHE_BYTES)) {
    this.cache = new BudgetedCache(budget);
  }

  get size(): number {
    return this.count;
  }

  /** Adds or replaces; returns true when this key had no subscription on this filter before. */
  add(filter: string, group: string | undefined, key: string, subscriber: Subscriber<S>): boolean {
    let node = this.root;
    for (const level of filter.split("/")) {
      node.children ??= new Map();
      let next = node.children.get(level);
      if (!next) {
        next = new TrieNode<S>();
        node.children.set(level, next);
      }
      node = next;
    }
    let members: Map<string, Subscriber<S>>;
    if (group === undefined) {
      members = node.subscribers ??= new Map();
    } else {
      node.groups ??= new Map();
      let g = node.groups.get(group);
      if (!g) {
        g = new SharedGroup<S>(group, filter);
        node.groups.set(group, g);
      }
      members = g.members;
    }
    const isNew = !members.has(key);
    members.set(key, subscriber);
    if (isNew) this.count++;
    this.cache.clear();
    return isNew;
  }

  /** Returns true when a subscription was removed. */
  remove(filter: string, group: string | undefined, key: string): boolean {
    const path: TrieNode<S>[] = [this.root];
    const levels = filter.split("/");
    for (const level of levels) {
      const next = path[path.length - 1]!.children?.get(level);
      if (!next) return false;
      path.push(next);
    }
    const node = path[path.length - 1]!;
    let removed: boolean;
    if (group === undefined) removed = node.subscribers?.delete(key) ?? false;
    else {
      const g = node.groups?.get(group);
      removed = g?.members.delete(key) ?? false;
      if (g && g.members.size === 0) node.groups!.delete(group);
    }
    if (!removed) return false;
    this.count--;
    this.cache.clear();
    // Prune branches left empty so the trie does not grow with churn.
    for (let i = levels.length; i > 0; i--) {
      if (!path[i]!.isEmpty()) break;
      path[i - 1]!.children!.delete(levels[i - 1]!);
    }
    return true;
  }

  match(topic: string): MatchResult<S> {
    const cached = this.cache.get(topic);
    if (cached) return cached;
    const result: MatchResult<S> = { subscribers: [], groups: [] };
    this.walk(topic.split("/"), topic.charCodeAt(0) === 36 /* $ */, result);
    this.cache.set(topic, result, matchEntryBytes(topic, result.subscribers.length + result.groups.length));
    return result;
  }

  /**
   * Depth-first over the branches `levels` can reach, with an explicit stack rather than
   * recursion: a topic deep enough to overflow the call stack must cost time, never the
   * process (a 12 000-level retained topic once made every `#` SUBSCRIBE throw). Children are
   * pushed in reverse so subscribers come out in the order a recursive walk gave them
   * (`+` branch before the exact one), which Subscription Identifier order depends on.
   */
  private walk(levels: string[], dollar: boolean, out: MatchResult<S>): void {
    const stack: { node: TrieNode<S>; i: number }[] = [{ node: this.root, i: 0 }];
    while (stack.length > 0) {
      const { node, i } = stack.pop()!;
      const children = node.children;
      // §4.7.2: wildcards at the first level do not match topics starting with `$`.
      const wildcardsAllowed = !(i === 0 && dollar);
      if (children && wildcardsAllowed) {
        const hash = children.get("#");
        if (hash) collect(hash, out);
      }
      if (i === levels.length) {
        collect(node, out);
        continue;
      }
      if (!children) continue;
      const exact = children.get(levels[i]!);
      if (exact) stack.push({ node: exact, i: i + 1 });
      if (wildcardsAllowed) {
        const plus = children.get("+");
        if (plus) stack.push({ node: plus, i: i + 1 });
      }
    }
  }
}

function collect<S>(node: TrieNode<S>, out: MatchResult<S>): void {
  if (node.subscribers) for (const s of node.subscribers.values()) out.subscribers.push(s);
  if (node.groups) for (const g of node.groups.values()) out.groups.push(g);
}

/**
 * What a cached topic costs: the key (V8 keeps a string in one or two bytes per unit; count
 * two), a reference per result, and the Map entry and result objects themselves.
 */
function matchEntryBytes(topic: string, results: number): number {
  return 2 * topic.length + 8 * results + ENTRY_OVERHEAD;
}

const ENTRY_OVERHEAD = 160;
