import mqtt, { type Packet } from "mqtt-packet";
import type { Duplex } from "node:stream";
import type { Broker } from "./broker.js";
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
import type { ClientInfo, ProtocolVersion, Transport } from "./types.js";

/** What a transport hands the broker: a byte stream plus how much it has buffered unsent. */
export interface TransportSocket {
  stream: Duplex;
  transport: Transport;
  remoteAddress: string;
  bufferedBytes(): number;
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
  /** Limits the client announced in CONNECT (5.0). */
  clientReceiveMaximum = 65535;
  clientMaximumPacketSize = Number.POSITIVE_INFINITY;
  clientTopicAliasMaximum = 0;
  requestProblemInformation = true;
  /** Topic aliases: ours towards the client, and the client's towards us. */
  outgoingAliases: Map<string, number> | undefined;
  incomingAliases: Map<number, string> | undefined;
  /** QoS 1/2 PUBLISH received and not yet acknowledged (receive maximum, §4.9). */
  unackedInbound = 0;
  /** Acks held by the published hook are sent in arrival order through this chain. */
  ackChain: Promise<void> | undefined;
  /** QoS 2 packet ids whose PUBREC is held (a DUP of one waits for that PUBREC). */
  heldQos2: Set<number> | undefined;
  /** Why the connection ended, for logs and the session's will. */
  closeReason: string | undefined;
  /** True when the client ended with a normal DISCONNECT (no will). */
  graceful = false;

  private readonly framer: PacketFramer;
  /** Packets a client sent after CONNECT before its CONNACK (allowed, §3.1.4): run once accepted. */
  private early: Packet[] | undefined;
  /** Packets written this tick, sent as one buffer when the tick ends (see `flush`). */
  private outgoing: Buffer[] | undefined;
  private outgoingBytes = 0;
  private readThisTurn = 0;
  private readPaused = false;
  private ackBlocked = false;

  constructor(
    readonly broker: Broker,
    readonly socket: TransportSocket,
  ) {
    this.framer = new PacketFramer(broker.limits.maxPacketSize);
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
    if (this.state === "awaiting-connect" && this.framer.atPacketStart && chunk[0] !== CONNECT_HEADER) {
      // Not MQTT at all (an HTTP request, a TLS hello, noise): no need to wait for a whole "packet".
      this.onMalformed(`first packet is not CONNECT (header byte 0x${chunk[0]!.toString(16)})`);
      return;
    }
    const whole = this.framer.push(chunk);
    if (whole === null) {
      this.broker.stats.drop("packet_too_large");
      this.disconnect(RC.PACKET_TOO_LARGE, `packet larger than ${this.broker.limits.maxPacketSize} bytes`);
      return;
    }
    if (whole.length > 0) decodePackets(whole, this.protocolVersion, this);
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
    this.socket.stream.pause();
    setImmediate(resumeReading, this);
  }

  resumeReading(): void {
    this.readPaused = false;
    this.readThisTurn = 0;
    if (this.state !== "closed" && !this.ackBlocked) this.socket.stream.resume();
  }

  /**
   * A 3.1.1 client is never told the broker's receive maximum, so instead of disconnecting it
   * (as 5.0 requires) the broker stops reading from it while that many acks are held, and reads
   * again once they are sent: TCP pushes back on the client.
   */
  blockReadingForAcks(): void {
    if (this.ackBlocked) return;
    this.ackBlocked = true;
    this.socket.stream.pause();
  }

  unblockReadingForAcks(): void {
    if (!this.ackBlocked) return;
    this.ackBlocked = false;
    if (!this.readPaused && this.state !== "closed") this.socket.stream.resume();
  }

  onPacket(packet: Packet): void {
    if (this.state === "closed") return;
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
  }

  private dispatch(packet: Packet): void {
    if (this.state === "awaiting-connect") {
      if (packet.cmd !== "connect") throw new ProtocolViolation(RC.PROTOCOL_ERROR, `expected CONNECT, got ${packet.cmd.toUpperCase()}`);
      void handleConnect(this, packet);
      return;
    }
    if (packet.cmd === "connect") throw new ProtocolViolation(RC.PROTOCOL_ERROR, "second CONNECT on one connection");
    if (this.state === "authenticating") {
      this.early ??= [];
      if (this.early.length >= MAX_EARLY_PACKETS) {
        throw new ProtocolViolation(RC.RECEIVE_MAXIMUM_EXCEEDED, `more than ${MAX_EARLY_PACKETS} packets before CONNACK`);
      }
      this.early.push(packet);
      return;
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

  /** Called once CONNACK accepted the client: handles what it sent meanwhile. */
  runEarlyPackets(): void {
    const early = this.early;
    this.early = undefined;
    if (early) for (const packet of early) this.onPacket(packet);
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
    this.socket.stream.write(data);
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
    this.broker.connectionClosed(this);
  }
}

const MAX_EARLY_PACKETS = 32;
const READ_TURN_BYTES = 64 * 1024;

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
