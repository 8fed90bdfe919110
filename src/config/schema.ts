/**
 * Every configurable bound of Sluice lives here, with its default. `docs/configuration.md`
 * documents each key; keep the two in step.
 */
export type AclAction = "publish" | "subscribe";

export interface AclRule {
  /** `allow` or `deny`; the first rule whose filter matches decides. */
  effect: "allow" | "deny";
  action: AclAction | "all";
  /** An MQTT topic filter (`+`/`#`); `%a` stands for the account id, `%d` for the device id. */
  filter: string;
}

export interface MqttLimits {
  /** Largest packet accepted from or sent to a client, in bytes. */
  maxPacketSize: number;
  /** Upper bound on the keep alive a client may ask for (seconds); 0 = no bound. */
  maxKeepAlive: number;
  /** Time a fresh socket has to send CONNECT, in ms. */
  connectTimeoutMs: number;
  /** How many QoS 1/2 PUBLISH a client may have unacknowledged towards the broker. */
  receiveMaximum: number;
  /** How many QoS 1/2 PUBLISH the broker keeps in flight towards one client at most. */
  maxInflight: number;
  /** Topic aliases the broker accepts from a client (5.0). */
  topicAliasMaximum: number;
  /** Offline / overflow queue bounds per session. */
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  /** Upper bound on a 5.0 session expiry interval, seconds. */
  maxSessionExpiry: number;
  /** Session expiry used for 3.1.1 clean-session=false clients, seconds. */
  legacySessionExpiry: number;
  /** Bytes buffered in a socket beyond which QoS 0 messages to it are dropped. */
  maxSocketBufferBytes: number;
  /** Retained messages per account. */
  maxRetainedPerAccount: number;
}

export interface SluiceConfig {
  dataDir: string;
  host: string;
  mqttPort: number;
  mqttsPort: number;
  wsPort: number;
  /** MQTT over secure WebSocket; same path as `wsPath`. */
  wssPort: number;
  wsPath: string;
  httpPort: number;
  allowAnonymous: boolean;
  tlsCert?: string;
  tlsKey?: string;
  logLevel: string;
  mqtt: MqttLimits;
  acl: AclRule[];
  /** Failed-auth delay: base ms, doubled per recent failure from the same address, capped. */
  authFailureDelayMs: number;
  authFailureDelayMaxMs: number;
  /** How often $SYS statistics are published, seconds; 0 = never. */
  sysInterval: number;
  /**
   * Key for relay credentials at rest (docs/relay.md): 64 hex digits, or a passphrase of 16+
   * characters. Empty: a key generated into `<dataDir>/relay-secret` (mode 0600) is used.
   */
  relaySecret: string;
}

export const defaultConfig: SluiceConfig = {
  dataDir: "./data",
  host: "0.0.0.0",
  mqttPort: 1883,
  mqttsPort: 8883,
  wsPort: 8083,
  wssPort: 8084,
  wsPath: "/mqtt",
  httpPort: 8080,
  allowAnonymous: false,
  logLevel: "info",
  mqtt: {
    maxPacketSize: 1024 * 1024,
    maxKeepAlive: 3600,
    connectTimeoutMs: 10_000,
    receiveMaximum: 1024,
    maxInflight: 256,
    topicAliasMaximum: 64,
    maxQueuedMessages: 1000,
    maxQueuedBytes: 16 * 1024 * 1024,
    maxSessionExpiry: 7 * 24 * 3600,
    legacySessionExpiry: 7 * 24 * 3600,
    maxSocketBufferBytes: 1024 * 1024,
    maxRetainedPerAccount: 100_000,
  },
  acl: [],
  authFailureDelayMs: 250,
  authFailureDelayMaxMs: 5_000,
  sysInterval: 10,
  relaySecret: "",
};
