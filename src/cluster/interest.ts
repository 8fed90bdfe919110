import { filterSubjects, overflowSubject, queueName } from "./subjects.js";

/** One NATS subscription, as the interest table needs it. */
export interface BusSubscription {
  unsubscribe(): void;
}

/** Where the interest table subscribes: plain subjects, or queue subscriptions for `$share` groups. */
export interface BusSubscriber {
  subscribe(subject: string, queue: string | undefined, onMessage: (subject: string, data: Uint8Array) => void): BusSubscription;
}

/** A message for one `$share` group this node serves. */
export type GroupHandler = (subject: string, data: Uint8Array, target: { namespace: string; group: string; filter: string }) => void;

interface Held {
  count: number;
  sub: BusSubscription;
}

/**
 * Which NATS subjects this node subscribes, following the filters its sessions hold: a filter's
 * subjects (subjects.ts) are subscribed when its first local subscription comes and unsubscribed
 * when its last one goes, so a node hears only what its own clients want. Counted per filter and
 * again per subject, since different filters share subjects (`a` and `a/#` both need `…a`; every
 * filter of a namespace needs its overflow subject). A `$share/{group}/{filter}` is a queue
 * subscription named for the group and filter (`queueName`): NATS gives each message to one
 * member node of the group, which gives it to one of its members.
 */
export class InterestTable {
  private readonly filters = new Map<string, number>();
  private readonly subjects = new Map<string, Held>();

  constructor(
    private readonly bus: BusSubscriber,
    private readonly onPlain: (subject: string, data: Uint8Array) => void,
    private readonly onGroup: GroupHandler,
  ) {}

  /** NATS subscriptions held now. */
  get size(): number {
    return this.subjects.size;
  }

  /** The subjects (with their queue, for groups) held now, for tests and the status page. */
  held(): { subject: string; queue: string | undefined }[] {
    return [...this.subjects.keys()].map((key) => {
      const [subject, queue] = key.split("\u0000");
      return { subject: subject!, queue: queue === "" ? undefined : queue };
    });
  }

  add(namespace: string, filter: string, group: string | undefined): void {
    const key = filterKey(namespace, filter, group);
    const n = this.filters.get(key) ?? 0;
    this.filters.set(key, n + 1);
    if (n > 0) return;
    for (const { subject, queue } of subjectsOf(namespace, filter, group)) this.hold(subject, queue, namespace, filter, group);
  }

  remove(namespace: string, filter: string, group: string | undefined): void {
    const key = filterKey(namespace, filter, group);
    const n = this.filters.get(key);
    if (n === undefined) return;
    if (n > 1) {
      this.filters.set(key, n - 1);
      return;
    }
    this.filters.delete(key);
    for (const { subject, queue } of subjectsOf(namespace, filter, group)) this.release(subject, queue);
  }

  /** Drops every subscription (the node is leaving). */
  clear(): void {
    for (const held of this.subjects.values()) held.sub.unsubscribe();
    this.subjects.clear();
    this.filters.clear();
  }

  private hold(subject: string, queue: string | undefined, namespace: string, filter: string, group: string | undefined): void {
    const key = `${subject}\u0000${queue ?? ""}`;
    const held = this.subjects.get(key);
    if (held) {
      held.count++;
      return;
    }
    const handler = group === undefined
      ? this.onPlain
      : (s: string, data: Uint8Array) => this.onGroup(s, data, { namespace, group, filter });
    this.subjects.set(key, { count: 1, sub: this.bus.subscribe(subject, queue, handler) });
  }

  private release(subject: string, queue: string | undefined): void {
    const key = `${subject}\u0000${queue ?? ""}`;
    const held = this.subjects.get(key);
    if (!held) return;
    if (--held.count > 0) return;
    held.sub.unsubscribe();
    this.subjects.delete(key);
  }
}

function filterKey(namespace: string, filter: string, group: string | undefined): string {
  return `${namespace}\u0000${group ?? ""}\u0000${group === undefined ? "p" : "s"}\u0000${filter}`;
}

/** A filter's subjects, and its namespace's overflow subject (topics too long for their own). */
function subjectsOf(namespace: string, filter: string, group: string | undefined): { subject: string; queue: string | undefined }[] {
  const queue = group === undefined ? undefined : queueName(namespace, group, filter);
  return [...filterSubjects(namespace, filter), overflowSubject(namespace)].map((subject) => ({ subject, queue }));
}
