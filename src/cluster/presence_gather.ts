import { type NatsConnection, RequestStrategy } from "nats";
import type { Logger } from "../observability/logger.js";
import { decodeBusJson, encodeBusJson, idList } from "./bus_json.js";
import type { ClusterStats } from "./stats.js";
import { SUBJECT_PREFIX } from "./subjects.js";

/**
 * Which of some devices have a live MQTT connection on another node (docs/cluster.md, "A
 * device's connected state"): a node answering a device list or page asks every node at once
 * with the page's ids, and each answers with those it holds connections for. Asked, not
 * broadcast: presence is read only when someone looks, and an answer is current by
 * construction (no copy to keep fresh, no snapshot for a node just started, and a dead node
 * simply does not answer).
 */
export const PRESENCE_SUBJECT = `${SUBJECT_PREFIX}.x.presence`;

/** Ids one question carries at most (a list page is at most 1000 devices); more go in several questions. */
export const MAX_PRESENCE_IDS = 1000;

const ASK = "presence.ask";
const ANSWER = "presence.answer";

/** The bus as presence needs it (`ClusterNode`). */
export interface PresenceBus {
  readonly origin: string;
  readonly stats: ClusterStats;
  readonly connection: NatsConnection | undefined;
  /** Answers requests on `subject`; a handler resolving to undefined sends no answer. */
  serve(subject: string, handler: (data: Uint8Array) => Promise<Uint8Array | undefined>): void;
}

export interface PresenceGatherOptions {
  bus: PresenceBus;
  /** This node's own live connections (`DevicePresence.connected`). */
  connectedHere(deviceId: string): boolean;
  /** How long a question waits for the other nodes' answers at most (`cluster.presenceWaitMs`). */
  waitMs: number;
  /** How many other nodes are alive, when known (PostgreSQL heartbeats): the wait ends once all answered. */
  otherNodes?(): number;
  logger: Logger;
}

export class PresenceGather {
  constructor(private readonly options: PresenceGatherOptions) {}

  /** Answers the other nodes' questions from this node's own connections. */
  start(): void {
    this.options.bus.serve(PRESENCE_SUBJECT, (data) => Promise.resolve(this.answer(data)));
  }

  /** Of `deviceIds`, those another node has a live connection for; empty when the bus is down. */
  async connectedElsewhere(deviceIds: readonly string[]): Promise<ReadonlySet<string>> {
    const found = new Set<string>();
    const chunks: string[][] = [];
    for (let i = 0; i < deviceIds.length; i += MAX_PRESENCE_IDS) chunks.push(deviceIds.slice(i, i + MAX_PRESENCE_IDS));
    await Promise.all(chunks.map((ids) => this.ask(ids, found)));
    return found;
  }

  private async ask(ids: string[], found: Set<string>): Promise<void> {
    const { bus, waitMs, logger } = this.options;
    const nc = bus.connection;
    if (!nc || nc.isClosed()) return;
    const asked = new Set(ids);
    const others = this.options.otherNodes?.();
    // Nobody else alive: no question. Otherwise stop as soon as every live node answered.
    if (others !== undefined && others <= 0) return;
    const strategy = others === undefined ? { strategy: RequestStrategy.Timer } : { strategy: RequestStrategy.Count, maxMessages: others };
    try {
      const answers = await nc.requestMany(PRESENCE_SUBJECT, encodeBusJson(bus.origin, ASK, { devices: ids }), { maxWait: waitMs, ...strategy });
      for await (const msg of answers) {
        bus.stats.controls++;
        const decoded = decodeBusJson(msg.data);
        if (!decoded.ok) {
          bus.stats.drop(decoded.reason);
          continue;
        }
        const connected = decoded.kind === ANSWER ? idList(decoded.body, "connected", MAX_PRESENCE_IDS) : undefined;
        if (!connected) {
          bus.stats.drop("malformed");
          continue;
        }
        // Only what was asked: an answer cannot make another device look connected.
        for (const id of connected) if (asked.has(id)) found.add(id);
      }
    } catch (err) {
      // No responders (no other node serves it) ends the wait at once; anything else is logged.
      if ((err as { code?: string }).code !== "503") logger.debug({ err }, "cluster: asking the other nodes for device presence failed");
    }
  }

  /** One question from another node, checked as hostile input; undefined (no answer) when it is not one. */
  private answer(data: Uint8Array): Uint8Array | undefined {
    const { bus, connectedHere } = this.options;
    bus.stats.controls++;
    const decoded = decodeBusJson(data);
    if (!decoded.ok) {
      bus.stats.drop(decoded.reason);
      return undefined;
    }
    if (decoded.origin === bus.origin) {
      bus.stats.drop("own");
      return undefined;
    }
    const devices = decoded.kind === ASK ? idList(decoded.body, "devices", MAX_PRESENCE_IDS) : undefined;
    if (!devices) {
      bus.stats.drop("malformed");
      return undefined;
    }
    return encodeBusJson(bus.origin, ANSWER, { connected: devices.filter((id) => connectedHere(id)) });
  }
}
