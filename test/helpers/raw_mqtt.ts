import net from "node:net";
import mqttPacket, { type IConnackPacket, type IConnectPacket, type IPublishPacket, type ISubackPacket, type Packet } from "mqtt-packet";

/**
 * A bare MQTT client over a TCP socket for the tests MQTT.js cannot express: not acknowledging,
 * retransmitting with DUP, reading every packet the broker sends as it is on the wire.
 * It never answers anything by itself.
 */
export class RawClient {
  /** Every packet received, in order. */
  readonly received: Packet[] = [];
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
  isClosed = false;
  private readonly waiters: { match: (p: Packet) => boolean; resolve: (p: Packet) => void }[] = [];
  private readonly consumed = new Set<Packet>();

  private constructor(
    readonly socket: net.Socket,
    readonly protocolVersion: 4 | 5,
  ) {
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on("packet", (p: Packet) => this.onPacket(p));
    socket.on("data", (chunk: Buffer) => parser.parse(chunk));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  /** Opens a socket and sends nothing: the test writes its own CONNECT (`socket.write` for hand-made bytes). */
  static async open(port: number, protocolVersion: 4 | 5): Promise<RawClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(s));
      s.once("error", reject);
    });
    return new RawClient(socket, protocolVersion);
  }

  /** Opens a socket, sends CONNECT (v3.1.1 unless `protocolVersion: 5`), waits for CONNACK. */
  static async connect(
    port: number,
    connect: Partial<Omit<IConnectPacket, "password">> & { password?: string | Buffer },
  ): Promise<{ client: RawClient; connack: IConnackPacket }> {
    const version = connect.protocolVersion === 5 ? 5 : 4;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(s));
      s.once("error", reject);
    });
    const client = new RawClient(socket, version);
    const password = typeof connect.password === "string" ? Buffer.from(connect.password) : connect.password;
    client.send({
      cmd: "connect", protocolId: "MQTT", protocolVersion: version, clean: true, keepalive: 0, clientId: "",
      username: password ? "Token" : undefined, ...connect, password,
    } as IConnectPacket);
    const connack = (await client.next("connack")) as IConnackPacket;
    return { client, connack };
  }

  private onPacket(p: Packet): void {
    this.received.push(p);
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.match(p)) {
        this.waiters.splice(i, 1);
        this.consumed.add(p);
        w.resolve(p);
        return;
      }
    }
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /**
   * The first packet of kind `cmd` (and matching `match`) that no earlier `next` returned;
   * packets already received count.
   */
  next(cmd: Packet["cmd"], match: (p: Packet) => boolean = () => true, timeoutMs = 3000): Promise<Packet> {
    const test = (p: Packet) => p.cmd === cmd && match(p);
    for (const p of this.received) {
      if (!this.consumed.has(p) && test(p)) {
        this.consumed.add(p);
        return Promise.resolve(p);
      }
    }
    return new Promise((resolve, reject) => {
      const waiter = { match: test, resolve: (p: Packet) => { clearTimeout(timer); resolve(p); } };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no ${cmd.toUpperCase()} within ${timeoutMs} ms; got ${this.received.map((r) => r.cmd).join(",")}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The next `count` PUBLISH packets. */
  async publishes(count: number, timeoutMs = 3000): Promise<IPublishPacket[]> {
    const out: IPublishPacket[] = [];
    for (let i = 0; i < count; i++) out.push((await this.next("publish", undefined, timeoutMs)) as IPublishPacket);
    return out;
  }

  /** Subscribes and waits for the SUBACK. */
  async subscribe(
    filter: string,
    options: { qos?: 0 | 1 | 2; nl?: boolean; rap?: boolean; rh?: number } = {},
    properties?: NonNullable<import("mqtt-packet").ISubscribePacket["properties"]>,
  ): Promise<ISubackPacket["granted"]> {
    const messageId = 60000 + Math.floor(Math.random() * 5000);
    this.send({ cmd: "subscribe", messageId, subscriptions: [{ topic: filter, qos: options.qos ?? 0, nl: options.nl, rap: options.rap, rh: options.rh }], properties } as Packet);
    const suback = (await this.next("suback", (p) => (p as ISubackPacket).messageId === messageId)) as ISubackPacket;
    return suback.granted;
  }

  /** Sends DISCONNECT and closes. */
  async disconnect(reasonCode?: number): Promise<void> {
    if (!this.isClosed) {
      this.send({ cmd: "disconnect", reasonCode } as Packet);
      this.socket.end();
    }
    await this.closed;
  }

  /** Drops the connection without DISCONNECT (an abnormal close). */
  async destroy(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

/** Resolves true when no (unconsumed) packet of kind `cmd` arrives within `ms`. */
export async function noPacket(client: RawClient, cmd: Packet["cmd"], ms = 300): Promise<boolean> {
  try {
    await client.next(cmd, undefined, ms);
    return false;
  } catch {
    return true;
  }
}

let uidCounter = 0;

/** A topic (or id) no other test uses: `prefix` plus a unique suffix. */
export function uid(prefix = ""): string {
  return `${prefix}${process.pid.toString(36)}${Date.now().toString(36)}${(uidCounter++).toString(36)}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The value of one sample of GET /metrics, e.g. `metricValue(port, 'x_total{reason="y"}')`; 0 when absent. */
export async function metricValue(httpPort: number, sample: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

/** The CONNACK an MQTT.js client got (MQTT.js keeps it in a private field). */
export function connackOf(client: object): IConnackPacket {
  return (client as { connackPacket: IConnackPacket }).connackPacket;
}
