/**
 * "Definitions of this kind changed in the store": told to every node over NATS, so a node that
 * keeps them in memory (actions: every node, for its pipeline and, on the timers' node, its
 * timers) reads them again. Without it an action made through one node's API would run its
 * timer only once the timers' lease moved (docs/cluster.md, "Once cluster-wide").
 *
 * A notice carries no definition, only its kind: the store stays the one source, and a lost or
 * forged notice costs one read, never a wrong definition.
 */
import type { NatsConnection, Subscription } from "nats";
import type { Logger } from "../observability/logger.js";

export const CHANGE_SUBJECT = "sluice.s.changed";
const VERSION = 1;
export const CHANGE_KINDS = ["actions"] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ChangeNoticesOptions {
  /** The node's bus connection once opened (ClusterNode.connection; it does not echo). */
  connection(): NatsConnection | undefined;
  /** This node's origin, so its own notices are ignored even on a connection that echoes. */
  origin: string;
  logger: Logger;
  dropped?(reason: "malformed" | "version" | "own"): void;
}

export class ChangeNotices {
  private readonly handlers = new Map<ChangeKind, () => Promise<void>>();
  /** Per kind: a read is running, and whether another must follow it (notices during it). */
  private readonly running = new Map<ChangeKind, { again: boolean }>();
  private sub: Subscription | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ChangeNoticesOptions) {}

  /** What a node does when another changed `kind`: read it again. */
  on(kind: ChangeKind, reload: () => Promise<void>): void {
    this.handlers.set(kind, reload);
  }

  /** This node changed `kind`: the others read it again. Lost while NATS is away (see docs). */
  announce(kind: ChangeKind): void {
    const nc = this.options.connection();
    if (!nc || nc.isClosed()) return;
    nc.publish(CHANGE_SUBJECT, new TextEncoder().encode(JSON.stringify({ v: VERSION, kind, origin: this.options.origin })));
  }

  start(): void {
    if (this.stopped || this.sub) return;
    const nc = this.options.connection();
    if (!nc) {
      this.retry = setTimeout(() => this.start(), 500);
      this.retry.unref();
      return;
    }
    this.sub = nc.subscribe(CHANGE_SUBJECT, {
      callback: (err, msg) => {
        if (!err) this.heard(msg.data);
      },
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private heard(data: Uint8Array): void {
    const notice = decodeChange(data);
    if (typeof notice === "string") return this.options.dropped?.(notice);
    if (notice.origin === this.options.origin) return this.options.dropped?.("own");
    this.reload(notice.kind);
  }

  /** One read at a time per kind; notices heard during it make one more read after it. */
  private reload(kind: ChangeKind): void {
    const handler = this.handlers.get(kind);
    if (!handler) return;
    const run = this.running.get(kind);
    if (run) {
      run.again = true;
      return;
    }
    const state = { again: false };
    this.running.set(kind, state);
    void handler()
      .catch((err: unknown) => this.options.logger.error({ err, kind }, "reading changed definitions again failed"))
      .finally(() => {
        this.running.delete(kind);
        if (state.again && !this.stopped) this.reload(kind);
      });
  }
}

export function decodeChange(data: Uint8Array): { kind: ChangeKind; origin: string } | "malformed" | "version" {
  if (data.length > 1024) return "malformed";
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    return "malformed";
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "malformed";
  const o = v as Record<string, unknown>;
  if (o.v !== VERSION) return "version";
  if (!CHANGE_KINDS.includes(o.kind as ChangeKind) || typeof o.origin !== "string" || o.origin.length > 200) return "malformed";
  return { kind: o.kind as ChangeKind, origin: o.origin };
}
