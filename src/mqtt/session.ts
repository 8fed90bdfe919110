import type { Broker } from "./broker.js";
import type { Connection } from "./connection.js";
import type { NamespaceStats } from "./stats.js";
import type { ClientInfo, Message, QoS, SubscriptionOptions } from "./types.js";

/** A message waiting for (or in) delivery to one session, with the per-subscriber flags. */
export interface Delivery {
  message: Message;
  qos: QoS;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  /** Persistence order. */
  seq: number;
  /** Bytes the copy holds, properties included (`deliveryBytes`, message_size.ts): the queue's byte bound. */
  bytes: number;
}

export interface InflightDelivery extends Delivery {
  /** `publish`: PUBLISH sent, awaiting PUBACK/PUBREC; `pubrel`: PUBREL sent, awaiting PUBCOMP. */
  state: "publish" | "pubrel";
  /** To be resent on this connection once the client's Receive Maximum allows (§4.9). */
  unsent?: boolean;
}

export interface Will {
  /** `expiresAt` is unset: the will's expiry counts from when it is published. */
  message: Message;
  /** Seconds (5.0 Will Delay Interval). */
  delay: number;
  /** Seconds (5.0 Message Expiry Interval of the will). */
  expiryInterval: number | undefined;
}

/** "Never expires" in the 5.0 Session Expiry Interval. */
export const SESSION_NEVER_EXPIRES = 0xffffffff;

/**
 * Bus identities a session remembers while a dead node's messages are replayed into it
 * (`Session.replaySeen`): a few seconds of its traffic. Past it, a message may be given twice (QoS
 * 1 allows it), never lost.
 */
export const REPLAY_SEEN_MAX = 100_000;

/**
 * The state MQTT keeps for a client id across network connections (§4.1): subscriptions,
 * QoS 1/2 messages in flight or queued, QoS 2 packet ids received but not released.
 */
export class Session {
  connection: Connection | undefined;
  readonly subscriptions = new Map<string, SubscriptionOptions>();
  readonly inflight = new Map<number, InflightDelivery>();
  /** How many `inflight` entries are marked `unsent` (at most; recounted when they are sent). */
  unsentInflight = 0;
  readonly queue: Delivery[] = [];
  queueBytes = 0;
  readonly incomingQos2 = new Set<number>();
  /** Seconds the session outlives its connection; 0 = ends with it. */
  expiryInterval = 0;
  disconnectedAt: number | undefined;
  willTimer: NodeJS.Timeout | undefined;
  pendingWill: Will | undefined;
  /** Whom the session counts against within its namespace (a device; `BrokerHooks.sessionOwner`). */
  owner: string | undefined;
  /** Counted among its namespace's persistent sessions (sessions.ts keeps this). */
  counted = false;
  /**
   * In a cluster, for a while after this node took the session from a dead node: the bus
   * identities of the QoS 1/2 messages it got, so a message kept for the dead node that also came
   * over the bus is not given twice (cluster/orphan_replay.ts). Undefined otherwise.
   */
  replaySeen: Set<string> | undefined;
  private nextPacketId = 1;
  private nextSeq = 1;

  constructor(
    readonly broker: Broker,
    readonly stats: NamespaceStats,
    readonly key: string,
    readonly namespace: string,
    readonly clientId: string,
    public client: ClientInfo,
  ) {}

  get persistent(): boolean {
    return this.expiryInterval > 0;
  }

  takeSeq(): number {
    return this.nextSeq++;
  }

  restoreSeq(seq: number): void {
    if (seq >= this.nextSeq) this.nextSeq = seq + 1;
  }

  /** A packet id not used by any message in flight (§2.2.1). */
  allocatePacketId(): number {
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }

  expiresAt(): number {
    if (this.expiryInterval === SESSION_NEVER_EXPIRES) return Number.POSITIVE_INFINITY;
    return (this.disconnectedAt ?? Date.now()) + this.expiryInterval * 1000;
  }
}
