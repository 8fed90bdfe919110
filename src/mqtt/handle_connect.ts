import { randomBytes } from "node:crypto";
import type { IConnackPacket, IConnectPacket } from "mqtt-packet";
import type { MqttLimits } from "../config/schema.js";
import type { Connection } from "./connection.js";
import { connackCodeFor311, RC } from "./reason_codes.js";
import { SESSION_NEVER_EXPIRES } from "./session.js";
import { isValidTopicName, isValidUtf8String, topicLevels } from "./topics.js";
import type { AuthDecision, ClientInfo, Message, ProtocolVersion } from "./types.js";

type ConnackProperties = NonNullable<IConnackPacket["properties"]>;

/** CONNECT (§3.1): validate, authenticate, open or resume the session, answer CONNACK. */
export async function handleConnect(conn: Connection, packet: IConnectPacket): Promise<void> {
  const broker = conn.broker;
  const limits = broker.limits;
  conn.state = "authenticating";
  const version = (packet.protocolVersion ?? 4) as ProtocolVersion;
  conn.protocolVersion = version;
  const props = packet.properties ?? {};

  if (version === 5) {
    if (props.authenticationMethod !== undefined) {
      return refuse(conn, RC.BAD_AUTHENTICATION_METHOD, "enhanced authentication is not supported; send the token as password");
    }
    // §3.1.2.11.3, §3.1.2.11.4: a value of 0 is a Protocol Error.
    if (props.receiveMaximum === 0) return refuse(conn, RC.PROTOCOL_ERROR, "Receive Maximum must not be 0");
    if (props.maximumPacketSize === 0) return refuse(conn, RC.PROTOCOL_ERROR, "Maximum Packet Size must not be 0");
    if (props.receiveMaximum !== undefined) conn.clientReceiveMaximum = props.receiveMaximum;
    if (props.maximumPacketSize !== undefined) conn.clientMaximumPacketSize = props.maximumPacketSize;
    if (props.topicAliasMaximum !== undefined) conn.clientTopicAliasMaximum = props.topicAliasMaximum;
    if (props.requestProblemInformation === false) conn.requestProblemInformation = false;
  }

  // A node cut off from its cluster would take sessions whose messages it cannot route.
  if (broker.cluster && !broker.cluster.available) {
    broker.stats.refuse("connect");
    return refuse(conn, RC.SERVER_UNAVAILABLE, "the cluster's message bus is unreachable; retry later");
  }

  let clientId = packet.clientId ?? "";
  let assignedClientId: string | undefined;
  if (!isValidUtf8String(clientId)) return refuse(conn, RC.CLIENT_IDENTIFIER_NOT_VALID, "client identifier is not valid UTF-8");
  if (clientId === "") {
    // 3.1.1 §3.1.3.1: a zero-length id requires CleanSession=1; 5.0 assigns one in any case.
    if (version !== 5 && !packet.clean) return refuse(conn, RC.CLIENT_IDENTIFIER_NOT_VALID, "empty client id needs a clean session");
    clientId = `sluice-${randomBytes(9).toString("base64url")}`;
    assignedClientId = clientId;
  }

  let will: Message | undefined;
  let willDelay = 0;
  if (packet.will) {
    if (!isValidTopicName(packet.will.topic)) return refuse(conn, RC.TOPIC_NAME_INVALID, "will topic is not a valid topic name");
    if (topicLevels(packet.will.topic) > limits.maxTopicLevels) {
      broker.stats.drop("topic_too_deep");
      return refuse(conn, RC.TOPIC_NAME_INVALID, `will topic has more than ${limits.maxTopicLevels} levels`);
    }
    const wp = packet.will.properties ?? {};
    const { willDelayInterval, messageExpiryInterval: _expiry, ...forwarded } = wp;
    willDelay = willDelayInterval ?? 0;
    will = {
      topic: packet.will.topic,
      payload: Buffer.isBuffer(packet.will.payload) ? packet.will.payload : Buffer.from(packet.will.payload),
      qos: packet.will.qos ?? 0,
      retain: packet.will.retain ?? false,
      properties: version === 5 && Object.keys(forwarded).length > 0 ? forwarded : undefined,
      expiresAt: undefined,
      publisher: undefined,
    };
  }

  let decision: AuthDecision;
  try {
    decision = await broker.hooks.authenticate({
      clientId,
      username: packet.username,
      password: packet.password,
      remoteAddress: conn.remoteAddress,
      transport: conn.socket.transport,
      protocolVersion: version,
    });
  } catch (err) {
    // A hook that cannot answer is the server's trouble, not the client's credentials.
    broker.logger.error({ err, clientId }, "authentication failed to run");
    decision = { ok: false, reason: "unavailable" };
  }
  if (conn.state !== "authenticating") return; // the client went away meanwhile
  if (!decision.ok && decision.reason === "unavailable") {
    broker.stats.refuse("connect");
    return refuse(conn, RC.SERVER_UNAVAILABLE, "authentication is unavailable (the data store cannot be reached); retry later");
  }
  if (!decision.ok) {
    broker.stats.authFailures++;
    const delay = broker.authThrottle.fail(conn.remoteAddress);
    const rc = decision.reason === "bad_credentials" ? RC.BAD_USERNAME_OR_PASSWORD : RC.NOT_AUTHORIZED;
    broker.logger.info({ clientId, remoteAddress: conn.remoteAddress, delay }, "authentication failed");
    setTimeout(() => refuse(conn, rc, "bad user name or password"), delay).unref();
    return;
  }
  broker.authThrottle.succeed(conn.remoteAddress);

  const client: ClientInfo = {
    clientId,
    namespace: decision.namespace,
    principal: decision.principal,
    username: packet.username,
    remoteAddress: conn.remoteAddress,
    transport: conn.socket.transport,
    protocolVersion: version,
  };
  const connack: ConnackProperties = {};
  let expiry: number;
  if (version === 5) {
    expiry = props.sessionExpiryInterval ?? 0;
    if (expiry > limits.maxSessionExpiry) {
      expiry = limits.maxSessionExpiry;
      connack.sessionExpiryInterval = expiry;
    }
  } else {
    expiry = packet.clean ? 0 : limits.legacySessionExpiry || SESSION_NEVER_EXPIRES;
  }

  // In a cluster on a shared store the client id's session may be on another node: it comes
  // here first (or the CONNECT is refused), so it is resumed as on one node.
  if (broker.claimSession && assignedClientId === undefined) {
    const refusedClaim = await broker.claimSession(client.namespace, clientId, packet.clean !== false);
    if (conn.state !== "authenticating") return;
    if (refusedClaim) {
      broker.stats.refuse("connect");
      return refuse(conn, RC.SERVER_UNAVAILABLE, refusedClaim);
    }
  }
  const ns = broker.namespace(client.namespace);
  const newPersistentSession = expiry > 0 ? broker.sessions.persistentCounts(client) : undefined;
  if (newPersistentSession) {
    // Before the admission hook, which counts the connection it admits.
    const over = sessionBoundExceeded(limits, newPersistentSession);
    if (over) {
      broker.stats.refuse("session");
      broker.logger.info({ clientId, namespace: client.namespace, reason: over }, "persistent session refused");
      refuse(conn, RC.QUOTA_EXCEEDED, over);
      return;
    }
  }
  let refused = broker.hooks.admitConnect?.(client, {
    connections: ns.stats.connected,
    replacing: ns.sessions.get(clientId)?.connection !== undefined,
    newPersistentSession,
  });
  // A cluster counts connections in its shared store (cluster/shared_limits.ts): an answer to wait for.
  if (refused instanceof Promise) {
    refused = await refused;
    if (conn.state !== "authenticating") {
      if (!refused) broker.hooks.admissionAbandoned?.(client);
      return;
    }
  }
  if (refused) {
    broker.stats.refuse("connect");
    broker.logger.info({ clientId, namespace: client.namespace, reason: refused.reason }, "connection refused");
    refuse(conn, refused.reasonCode, refused.reason);
    return;
  }
  conn.client = client;

  conn.keepAlive = packet.keepalive ?? 0;
  if (limits.maxKeepAlive > 0 && version === 5 && (conn.keepAlive === 0 || conn.keepAlive > limits.maxKeepAlive)) {
    conn.keepAlive = limits.maxKeepAlive;
    connack.serverKeepAlive = limits.maxKeepAlive;
  }

  if (will) conn.will = { message: will, delay: willDelay, expiryInterval: packet.will?.properties?.messageExpiryInterval };
  const { session, present } = broker.sessions.open(conn, client, packet.clean !== false, expiry);
  conn.session = session;
  conn.state = "connected";

  if (version === 5) {
    Object.assign(connack, {
      receiveMaximum: limits.receiveMaximum,
      maximumPacketSize: limits.maxPacketSize,
      topicAliasMaximum: limits.topicAliasMaximum,
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
    } satisfies ConnackProperties);
    if (assignedClientId) connack.assignedClientIdentifier = assignedClientId;
    conn.send({ cmd: "connack", reasonCode: RC.SUCCESS, sessionPresent: present, properties: connack });
  } else {
    conn.send({ cmd: "connack", returnCode: 0, sessionPresent: present });
  }
  broker.clientConnected(session, present);
  conn.connectAccepted();
}

/**
 * The broker's own ceiling on persistent sessions, whatever the plans say: each offline one
 * costs a stored copy of every QoS 1/2 message it subscribed to, so they bound the work one
 * publish makes. Returns why a new one is refused, or undefined.
 */
function sessionBoundExceeded(limits: MqttLimits, counts: { namespace: number; owner: number | undefined }): string | undefined {
  if (counts.namespace >= limits.maxSessionsPerAccount) {
    return `the account holds the broker's limit of ${limits.maxSessionsPerAccount} persistent sessions; connect with a clean session or reuse a client id`;
  }
  if (counts.owner !== undefined && counts.owner >= limits.maxSessionsPerDevice) {
    return `the device holds the broker's limit of ${limits.maxSessionsPerDevice} persistent sessions; connect with a clean session or reuse a client id`;
  }
  return undefined;
}

function refuse(conn: Connection, reasonCode: number, reason: string): void {
  if (conn.state === "closed") return;
  conn.closeReason = reason;
  conn.closeReasonCode = reasonCode;
  if (conn.protocolVersion === 5) {
    const properties = conn.requestProblemInformation ? { reasonString: reason } : undefined;
    conn.send({ cmd: "connack", reasonCode, sessionPresent: false, properties });
  } else {
    conn.send({ cmd: "connack", returnCode: connackCodeFor311(reasonCode), sessionPresent: false });
  }
  conn.end();
}
