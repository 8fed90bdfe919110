import mqtt, { type Packet } from "mqtt-packet";
import type { Duplex } from "node:stream";
import { backlogged } from "./backlog.js";
import type { Broker } from "./broker.js";
import { drainQueue } from "./delivery.js";
import { handleAck } from "./handle_ack.js";
import { handleConnect } from "./handle_connect.js";
import { handleDisconnect } from "./handle_disconnect.js";
import { handlePublish } from "./handle_publish.js";
import { handleSubscribe } from "./handle_subscribe.js";
import { handleUnsubscribe } from "./handle_unsubscribe.js";
import { decodePackets, type PacketSink } from "./packet_decoder.js";
import { PacketFramer } from "./packet_framer.js";
import { ProtocolViolation, RC } from "./reason_codes.js";
import type { Session, Will } from "./session.js";
import type { ConnectionStamp } from "./cluster_link.js";
import type { PendingSlot } from "./pending_connections.js";
import type { ClientInfo, ProtocolVersion, Transport } from "./types.js";

/** What a transport hands the broker: a byte stream plus how much it has buffered unsent. */
export interface TransportSocket {
  stream: Duplex;
  transport: Transport;
  remoteAddress: string;
  bufferedBytes(): number;
  /** The pending slot its TCP socket took at accept (`PendingConnections.claim`). */
  pending?: PendingSlot | undefined;
}

export type ConnectionState = "awaiting-connect" | "authenticating" | "connected" | "closed";

/**
 * One network connection: decodes packets, enforces the order the protocol allows, and
 * hands each packet to its handler (`handle_*.ts`). Writes are gathered for the rest of the
 * tick, so a burst of deliveries leaves in one syscall.
 */
export class Connection implements PacketSink {
  state: ConnectionState = "awaiting-connect";
  readonly createdAt = Date.now();
  lastPacketAt = this.createdAt;
  /** Effective keep alive in seconds (0 = none). */
  keepAlive = 0;
  protocolVersion: ProtocolVersion = 4;
  client: ClientInfo | undefined;
  session: Session | undefined;
  will: Will | undefined;
  /** When and on which node the cluster holds this connection was made (`ClusterLink.clientConnected`); undefined on one node. */
  clusterStamp: ConnectionStamp | undefined;
  /** Limits the client announced in CONNECT (5.0). */
  clientReceiveMaximum = 65535;
  clientMaximumPacketSize = Number.POSITIVE_INFINITY;
  clientTopicAliasMaximum = 0;
  requestProblemInformation = true;
  /** Topic aliases: ours towards the client, and the client's towards us. */
  outgoingAliases: Map<string, number> | undefined;
  incomingAliases: Map<number, string> | undefined;
  /** Bytes of the topics each alias map holds (2 a character), bounded by `mqtt.maxTopicAliasBytes`. */
  outgoingAliasBytes = 0;
  incomingAliasBytes = 0;
  /** QoS 1/2 PUBLISH received whose PUBACK/PUBREC has not left yet (receive_maximum.ts). */
  unackedInbound = 0;
  /** 5.0: QoS 2 packet ids whose PUBREC left and whose PUBREL has not come (receive_maximum.ts). */
  awaitingPubrel: Set<number> | undefined;
  /** Acks held by the published hook are sent in arrival order through this chain. */
  ackChain: Promise<void> | undefined;
  /** QoS 2 packet ids whose PUBREC is held (a DUP of one waits for that PUBREC). */
  heldQos2: Set<number> | undefined;
  /** Why the connection ended, for logs and the session's will. */
  closeReason: string | undefined;
  /** The reason code that ended it, when one was sent or received (a DISCONNECT's, a refused CONNACK's). */
  closeReasonCode: number | undefined;
  /** True when the client ended with a normal DISCONNECT (no will). */
  graceful = false;

  /**
   * True while the delivery of QoS 1/2 messages waits for this socket's backlog to go down
   * (backlog.ts); the next completed write drains the session queue.
   */
  waitingForBacklog = false;

  private readonly framer: PacketFramer;
  /**
   * Whole packets that came in the same read as CONNECT (allowed, §3.1.4), kept as bytes and
   * decoded once the client is accepted. Nothing more is read meanwhile (the socket is paused
   * while authenticating), so this is at most one read's worth, however much the client sends.
   */
  private afterConnect: Buffer | undefined;
  /** Packets written this tick, sent as one buffer when the tick ends (see `flush`). */
  private outgoing: Buffer[] | undefined;
  private outgoingBytes = 0;
  private readThisTurn = 0;
  private readPaused = false;
  /** Routing work (`Broker.routeWork`) this connection's packets cost since it last yielded. */
  private workSinceYield = 0;
  /** When this connection's packets began taking the current turn (performance.now()); -1: not yet. */
  private turnStartedAt = -1;
  /**
   * Packets decoded but not yet handled because the work budget of the turn is spent: handled,
   * in order, from the next turn on (`handleHeld`). Reading stops while there are any, so this
   * is at most one read's worth.
   */
  private held: (Packet | ProtocolViolation)[] | undefined;
  private ackBlocked = false;
  private reading = true;

  constructor(
    readonly broker: Broker,
    readonly socket: TransportSocket,
    /** Its slot in the broker's pending connections, held until CONNECT succeeds or the socket ends. */
    private readonly pending: PendingSlot,
  ) {
    pending.onExpire = () => {
      this.closeReason ??= "no CONNECT in time";
    };
    this.framer = new PacketFramer(broker.limits.maxPacketSize, broker.limits.maxConnectPacketSize);
    const stream = socket.stream;
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("error", () => this.onClosed("socket error"));
    stream.on("close", () => this.onClosed("socket closed"));
    stream.on("end", () => stream.end());
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress;
  }

  private onData(chunk: Buffer): void {
    if (this.state === "closed") return;
    this.broker.stats.bytesIn += chunk.length;
    this.lastPacketAt = Date.now();
    this.takeReadTurn(chunk.length);
    // Each read's packets get their own time budget (onPacket); held ones keep theirs.
    if (!this.held) this.turnStartedAt = -1;
    if (this.state === "awaiting-connect" && this.framer.atPacketStart && chunk[0] !== CONNECT_HEADER) {
      // Not MQTT at all (an HTTP request, a TLS hello, noise): no need to wait for a whole "packet".
      this.onMalformed(`first packet is not CONNECT (header byte 0x${chunk[0]!.toString(16)})`);
      return;
    }
    const whole = this.framer.push(chunk);
    if (whole === null) {
      this.broker.stats.drop("packet_too_large");
      this.disconnect(RC.PACKET_TOO_LARGE, `packet larger than ${this.framer.currentLimit} bytes`);
      return;
    }
    if (whole.length === 0) return;
    if (this.state !== "awaiting-connect") {
      decodePackets(whole, this.protocolVersion, this);
      return;
    }
    // CONNECT alone is decoded now; what follows it waits, as bytes, for the verdict.
    const first = firstPacketLength(whole);
    if (first < whole.length) this.afterConnect = whole.subarray(first);
    decodePackets(first < whole.length ? whole.subarray(0, first) : whole, this.protocolVersion, this);
    this.syncReading();
  }

  /**
   * CONNECT succeeded: the pending slot is freed, reading resumes, and the packets that came
   * with CONNECT are handled.
   */
  connectAccepted(): void {
    this.releasePending();
    this.syncReading();
    const rest = this.afterConnect;
    this.afterConnect = undefined;
    if (rest) decodePackets(rest, this.protocolVersion, this);
  }

  private releasePending(): void {
    this.pending.release();
  }

  /**
   * One place decides whether the socket is read: not while it has had its turn this loop
   * iteration, not while acks are held for a 3.1.1 client, not while CONNECT is being
   * authenticated (a client without credentials must not make us read, decode or buffer).
   */
  private syncReading(): void {
    if (this.state === "closed") return;
    const want = !this.readPaused && !this.ackBlocked && this.held === undefined && this.state !== "authenticating";
    if (want === this.reading) return;
    this.reading = want;
    if (want) this.socket.stream.resume();
    else this.socket.stream.pause();
  }

  /**
   * Fairness between connections: libuv would read a busy socket dry (many 64 KB chunks) in one
   * loop turn, so a few flooding publishers could hold the loop for seconds while subscribers'
   * writes wait. After READ_TURN_BYTES a connection pauses until the next turn.
   */
  private takeReadTurn(bytes: number): void {
    this.readThisTurn += bytes;
    if (this.readThisTurn < READ_TURN_BYTES || this.readPaused) return;
    this.readPaused = true;
    this.syncReading();
    setImmediate(resumeReading, this);
  }

  resumeReading(): void {
    this.readPaused = false;
    this.readThisTurn = 0;
    this.workSinceYield = 0;
    this.turnStartedAt = -1;
    this.syncReading();
  }

  /**
   * A 3.1.1 client is never told the broker's receive maximum, so instead of disconnecting it
   * (as 5.0 requires) the broker stops reading from it while that many acks are held, and reads
   * again once they are sent: TCP pushes back on the client.
   */
  blockReadingForAcks(): void {
    if (this.ackBlocked) return;
    this.ackBlocked = true;
    this.syncReading();
  }

  unblockReadingForAcks(): void {
    if (!this.ackBlocked) return;
    this.ackBlocked = false;
    this.syncReading();
  }

  /**
   * The read turn is bounded in bytes (`takeReadTurn`) and here in event-loop time: 1 200 tiny
   * PUBLISH (50 KB) matching thousands of overlapping filters each would otherwise hold the loop
   * for seconds in one go. Once this connection's packets have taken `mqtt.maxTurnMs` in a turn,
   * the next ones wait, decoded and in order, for the next turn; nothing more is read meanwhile.
   * The clock is read only every TURN_CHECK_WORK units of routing work, so a cheap packet costs
   * no clock read (a budget counted in work alone cut fan-out throughput in half: 100
   * subscribers make every publish 101 units).
   */
  onPacket(packet: Packet): void {
    if (this.state === "closed") return;
    if (this.held) {
      this.held.push(packet);
      return;
    }
    if (this.turnStartedAt < 0) this.turnStartedAt = performance.now();
    this.handlePacket(packet);
    if (this.turnSpent() && (this.state as ConnectionState) !== "closed") {
      this.held = [];
      this.syncReading();
      setImmediate(handleHeld, this);
    }
  }

  /** Handles held packets until the turn's budget is spent again, then waits for another turn. */
  handleHeld(): void {
    this.workSinceYield = 0;
    this.turnStartedAt = performance.now();
    const held = this.held;
    if (!held) return;
    let i = 0;
    while (i < held.length && this.state !== "closed") {
      const next = held[i++]!;
      if (next instanceof ProtocolViolation) this.disconnect(next.reasonCode, next.message);
      else this.handlePacket(next);
      if (i < held.length && this.turnSpent()) {
        held.splice(0, i);
        setImmediate(handleHeld, this);
        return;
      }
    }
    this.held = undefined;
    this.turnStartedAt = -1;
    this.syncReading();
  }

  private turnSpent(): boolean {
    if (this.workSinceYield < TURN_CHECK_WORK) return false;
    this.workSinceYield = 0;
    return performance.now() - this.turnStartedAt >= this.broker.limits.maxTurnMs;
  }

  private handlePacket(packet: Packet): void {
    const work = this.broker.routeWork;
    this.broker.stats.packetIn(packet.cmd);
    try {
      this.dispatch(packet);
    } catch (err) {
      if (err instanceof ProtocolViolation) this.disconnect(err.reasonCode, err.message);
      else {
        this.broker.logger.error({ err, clientId: this.client?.clientId }, "unexpected error handling packet");
        this.disconnect(RC.UNSPECIFIED_ERROR, "internal error");
      }
    }
    this.workSinceYield += 1 + this.broker.routeWork - work;
  }

  private dispatch(packet: Packet): void {
    if (this.state === "awaiting-connect") {
      if (packet.cmd !== "connect") throw new ProtocolViolation(RC.PROTOCOL_ERROR, `expected CONNECT, got ${packet.cmd.toUpperCase()}`);
      void handleConnect(this, packet);
      return;
    }
    if (packet.cmd === "connect") throw new ProtocolViolation(RC.PROTOCOL_ERROR, "second CONNECT on one connection");
    if (this.state === "authenticating") {
      // Cannot happen: reading stops at CONNECT until it is answered (see onData).
      throw new ProtocolViolation(RC.PROTOCOL_ERROR, `${packet.cmd.toUpperCase()} before CONNACK`);
    }
    switch (packet.cmd) {
      case "publish":
        return handlePublish(this, packet);
      case "puback":
      case "pubrec":
      case "pubrel":
      case "pubcomp":
        return handleAck(this, packet);
      case "subscribe":
        return handleSubscribe(this, packet);
      case "unsubscribe":
        return handleUnsubscribe(this, packet);
      case "pingreq":
        this.send({ cmd: "pingresp" });
        return;
      case "disconnect":
        return handleDisconnect(this, packet);
      case "auth":
        throw new ProtocolViolation(RC.PROTOCOL_ERROR, "AUTH without an authentication method");
      default:
        throw new ProtocolViolation(RC.PROTOCOL_ERROR, `${packet.cmd.toUpperCase()} is not sent by clients`);
    }
  }

  /** Ends the connection, after the packets decoded before the bad one (they may be held). */
  onViolation(violation: ProtocolViolation): void {
    if (this.state === "closed") return;
    if (this.held) this.held.push(violation);
    else this.disconnect(violation.reasonCode, violation.message);
  }

  onMalformed(message: string): void {
    this.broker.stats.drop("malformed");
    if (this.state === "awaiting-connect" && message === "Invalid protocol version") {
      // A well-formed CONNECT of a protocol level we do not speak: 3.1.1 §3.1.2.2 wants a
      // CONNACK 0x01 (unacceptable protocol level) before the close, in 3.1.1 framing.
      this.writeEncoded(UNACCEPTABLE_PROTOCOL_CONNACK, "connack");
    }
    this.disconnect(RC.MALFORMED_PACKET, `malformed packet: ${message}`);
  }

  /** Encodes and writes one packet; returns its encoded size. */
  send(packet: Packet): number {
    if (this.state === "closed") return 0;
    const buf = mqtt.generate(packet, { protocolVersion: this.protocolVersion });
    this.writeEncoded(buf, packet.cmd);
    return buf.length;
  }

  writeEncoded(buf: Buffer, cmd: Packet["cmd"]): void {
    if (this.state === "closed") return;
    if (this.outgoing === undefined) {
      this.outgoing = [buf];
      process.nextTick(flushConnection, this);
    } else this.outgoing.push(buf);
    this.outgoingBytes += buf.length;
    this.broker.stats.packetOut(cmd, buf.length);
  }

  /**
   * Sends what this tick wrote as one buffer. Many small writes (cork/uncork) would reach libuv
   * as one request with thousands of iovecs, of which it writes IOV_MAX per loop turn: a busy
   * loop would then trickle to a subscriber. One copy per tick avoids that and costs little.
   */
  flush(): void {
    const chunks = this.outgoing;
    if (chunks === undefined) return;
    this.outgoing = undefined;
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.outgoingBytes);
    this.outgoingBytes = 0;
    this.broker.backlog.total += data.length;
    this.socket.stream.write(data, () => this.written(data.length));
  }

  /** The kernel took `bytes` (or the socket died with them): uncount, and resume what waited. */
  private written(bytes: number): void {
    this.broker.backlog.total -= bytes;
    if (!this.waitingForBacklog || this.state !== "connected" || !this.session) return;
    if (backlogged(this)) return;
    this.waitingForBacklog = false;
    drainQueue(this.session);
  }

  /** Bytes written to this client and not yet taken by its socket. */
  bufferedBytes(): number {
    return this.outgoingBytes + this.socket.bufferedBytes();
  }

  /**
   * Ends the connection. A 5.0 client that got its CONNACK is told why with a DISCONNECT
   * (§4.13); a 3.1.1 client just sees the socket close, which is all 3.1.1 allows.
   */
  disconnect(reasonCode: number, reason: string): void {
    if (this.state === "closed") return;
    this.closeReason = reason;
    this.closeReasonCode = reasonCode;
    this.broker.logger.debug({ clientId: this.client?.clientId, reasonCode, reason }, "closing connection");
    if (this.protocolVersion === 5 && this.state === "connected") {
      const properties = this.requestProblemInformation ? { reasonString: reason } : undefined;
      this.send({ cmd: "disconnect", reasonCode, properties });
    }
    this.end();
  }

  /** Flushes what is written and closes; destroys if the peer does not let it drain. */
  end(): void {
    const stream = this.socket.stream;
    this.flush();
    this.onClosed(this.closeReason ?? "closed by server");
    stream.end();
    setTimeout(() => stream.destroy(), 1000).unref();
  }

  private onClosed(reason: string): void {
    if (this.state === "closed") return;
    this.closeReason ??= reason;
    this.state = "closed";
    this.afterConnect = undefined;
    this.held = undefined;
    this.releasePending();
    this.broker.connectionClosed(this);
  }
}

const READ_TURN_BYTES = 64 * 1024;
/** Units of routing work between two reads of the clock against `mqtt.maxTurnMs`. */
const TURN_CHECK_WORK = 256;

/** The size of the whole packet at the start of `buf` (fixed header + Remaining Length). */
function firstPacketLength(buf: Buffer): number {
  let length = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4 && i < buf.length; i++) {
    const byte = buf[i]!;
    length += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return Math.min(buf.length, 1 + i + length);
  }
  // Five length bytes: malformed; the decoder rejects the lot.
  return buf.length;
}

function handleHeld(conn: Connection): void {
  conn.handleHeld();
}

function resumeReading(conn: Connection): void {
  conn.resumeReading();
}
/** CONNECT's fixed header byte: packet type 1, flags reserved as 0 (§2.1.3). */
const CONNECT_HEADER = 0x10;
/** CONNACK, session present 0, return code 1. */
const UNACCEPTABLE_PROTOCOL_CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x01]);

function flushConnection(conn: Connection): void {
  conn.flush();
}
