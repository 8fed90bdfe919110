import type { IPublishPacket, QoS } from "mqtt-packet";

export type { QoS };
export type Transport = "tcp" | "tls" | "ws" | "wss";
export type ProtocolVersion = 3 | 4 | 5;

/** PUBLISH properties the broker forwards untouched (alias and subscription ids are per hop). */
export type ForwardedProperties = Omit<NonNullable<IPublishPacket["properties"]>, "topicAlias" | "subscriptionIdentifier">;

/** An application message inside the broker. Immutable once routed: deliveries share it. */
export interface Message {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties: ForwardedProperties | undefined;
  /** Absolute expiry, epoch ms, from the message expiry interval; counted down while queued. */
  expiresAt: number | undefined;
  /** Session key of the publisher, for No Local; undefined for broker-made messages. */
  publisher: string | undefined;
  /**
   * The plain QoS 0 PUBLISH encoding, made once at the first delivery and reused for every
   * other subscriber of the same protocol family (delivery.ts). The only field ever set after
   * routing starts; a WeakMap would do the same but costs every young-generation GC a walk
   * over its table.
   */
  wire?: { v4?: Buffer; v5?: Buffer };
  /** Bytes the message holds, properties included, set once by `messageBytes` (message_size.ts). */
  size?: number;
  /**
   * In a cluster, the message's identity on the bus (origin and sequence of its envelope), the
   * same on every node: a node taking a persistent session over tells by it the copies it got
   * itself from those the previous owner stored (cluster/session_handoff.ts).
   */
  busId?: string;
}

export interface SubscriptionOptions {
  qos: QoS;
  /** No Local: don't deliver this client's own publications back to it. */
  nl: boolean;
  /** Retain As Published. */
  rap: boolean;
  /** Retain Handling: 0 send retained on subscribe, 1 only if new, 2 never. */
  rh: 0 | 1 | 2;
  /** Subscription Identifier, 5.0. */
  id: number | undefined;
}

/** Who a connected client is, as the authenticate hook decided. */
export interface ClientInfo {
  clientId: string;
  /** Topic namespace (the account): clients in different namespaces never see each other. */
  namespace: string;
  /** Opaque to the broker; the hooks put what they need here (device id, token id, permission). */
  principal: Readonly<Record<string, unknown>>;
  username: string | undefined;
  remoteAddress: string;
  transport: Transport;
  protocolVersion: ProtocolVersion;
}

export interface ConnectRequest {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  remoteAddress: string;
  transport: Transport;
  protocolVersion: ProtocolVersion;
}

/**
 * An admission hook's refusal: the reason code the client gets (5.0; 3.1.1 gets the nearest
 * it has), why, and whether the connection ends too (a client that keeps flooding).
 */
export interface Refused {
  reasonCode: number;
  reason: string;
  disconnect?: boolean;
}

export type AuthDecision =
  | { ok: true; namespace: string; principal: Record<string, unknown> }
  | { ok: false; reason: "bad_credentials" | "not_authorized" }
  /** Cannot decide now (the store behind the credentials is unreachable): CONNACK Server unavailable, no failed-auth delay. */
  | { ok: false; reason: "unavailable" };

export interface PublishedEvent {
  client: ClientInfo | undefined;
  message: Message;
  /** `will` for will messages, `client` for PUBLISH packets. */
  origin: "client" | "will";
}

/**
 * The broker's extension seam. The broker knows nothing about accounts, buckets or parsers:
 * everything it needs to decide is asked through these.
 */
export interface BrokerHooks {
  authenticate(request: ConnectRequest): Promise<AuthDecision>;
  /** Return false to refuse (5.0: 0x87 to the publisher). Called for every PUBLISH and will. */
  authorizePublish?(client: ClientInfo, topic: string): boolean;
  /**
   * Admission (quotas and rates, e.g. account plans), asked after authorization; undefined
   * admits. `admitConnect` runs after authentication, right before the session opens;
   * `connections` is how many clients of the namespace are connected now, `replacing` whether
   * this one takes over a connected session (which then goes), `newPersistentSession` the
   * persistent sessions the namespace and this client's owner (`sessionOwner`) hold when the
   * CONNECT would create one more (undefined when it asks for none or resumes one).
   * `admitPublish` runs for every
   * PUBLISH from a client: keep it cheap. `admitSubscribe` gets the subscriptions the session
   * and the namespace hold already.
   */
  admitConnect?(client: ClientInfo, counts: { connections: number; replacing: boolean; newPersistentSession?: { namespace: number; owner: number | undefined } }): Refused | undefined | Promise<Refused | undefined>;
  /**
   * A connection `admitConnect` admitted by a promise went away before its session opened: what
   * the admission counted for it is released (no `clientDisconnected` follows for it).
   */
  admissionAbandoned?(client: ClientInfo): void;
  admitPublish?(client: ClientInfo, topic: string, payloadBytes: number): Refused | undefined;
  admitSubscribe?(client: ClientInfo, filter: string, counts: { session: number; namespace: number }): Refused | undefined;
  /**
   * Whom a client's persistent session counts against within its namespace (Sluice: its
   * device), for `maxSessionsPerDevice` and the plans; undefined: only the namespace's bound.
   */
  sessionOwner?(client: ClientInfo): string | undefined;
  /** Return false to refuse one filter of a SUBSCRIBE (failure code in SUBACK). */
  authorizeSubscribe?(client: ClientInfo, filter: string): boolean;
  /**
   * Return false to withhold one message from one subscriber, checked on its topic at every
   * delivery (retained ones included): a granted wildcard such as `#` can match topics the
   * client may not read. Leave it out when there is nothing to check: it is on the hot path.
   */
  authorizeDelivery?(client: ClientInfo, topic: string): boolean;
  /**
   * Called for every accepted message before it is acknowledged. If it returns a promise, the
   * PUBACK/PUBREC waits for it; a rejection with a `reasonCode` property (≥ 0x80) is sent back
   * to a 5.0 publisher as the ack's reason code.
   */
  published?(event: PublishedEvent): void | Promise<void>;

  /** Observers: told what happened, with no say in it (e.g. the live inspector). */
  clientConnected?(client: ClientInfo, sessionPresent: boolean): void;
  /** `reasonCode`: the MQTT reason code that ended the connection, when there was one (none for a dropped socket). */
  clientDisconnected?(client: ClientInfo, reason: string, reasonCode?: number): void;
  subscribed?(client: ClientInfo, subscriptions: { filter: string; qos: QoS; reasonCode: number }[]): void;
  unsubscribed?(client: ClientInfo, filters: string[]): void;
  /** Called for every PUBLISH sent to a client: keep it cheap. */
  delivered?(client: ClientInfo, message: Message, qos: QoS): void;
}
