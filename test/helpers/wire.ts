import mqttPacket, { type IConnectPacket, type Packet } from "mqtt-packet";
import net from "node:net";

/**
 * A bare TCP socket for hostile tests: writes exact bytes (valid packets built with
 * mqtt-packet, invalid ones by hand) without any CONNECT of its own, and records every packet
 * the broker answers with and when the broker closes the socket.
 */
export class WireClient {
  readonly packets: Packet[] = [];
  /** Resolves with the time the socket closed. */
  readonly closed: Promise<number>;
  isClosed = false;
  private readonly parser;
  private waiters: { cmd: Packet["cmd"]; resolve: (p: Packet) => void }[] = [];

  private constructor(
    readonly socket: net.Socket,
    readonly protocolVersion: 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion });
    this.parser.on("packet", (p: Packet) => {
      const i = this.waiters.findIndex((w) => w.cmd === p.cmd);
      if (i === -1) this.packets.push(p);
      else this.waiters.splice(i, 1)[0]!.resolve(p);
    });
    socket.on("data", (chunk: Buffer) => this.parser.parse(chunk));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        resolve(Date.now());
      }),
    );
  }

  /** A TCP socket to the broker, nothing sent yet. */
  static open(port: number, protocolVersion: 4 | 5 = 5): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => {
        socket.off("error", reject);
        resolve(new WireClient(socket, protocolVersion));
      });
      socket.once("error", reject);
    });
  }

  /** A socket that sent CONNECT with `token` and got a successful CONNACK. */
  static async connected(port: number, token: string, options: Partial<IConnectPacket> & { protocolVersion?: 4 | 5 } = {}): Promise<WireClient> {
    const version = options.protocolVersion ?? 5;
    const client = await WireClient.open(port, version);
    client.send(connectPacket(token, { ...options, protocolVersion: version }));
    const connack = await client.next("connack");
    const code = version === 5 ? connack.reasonCode : connack.returnCode;
    if (code !== 0) throw new Error(`CONNACK refused with ${code}`);
    return client;
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  write(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** The next packet of type `cmd` (one already received counts). */
  next<C extends Packet["cmd"]>(cmd: C, timeoutMs = 3000): Promise<Extract<Packet, { cmd: C }>> {
    const i = this.packets.findIndex((p) => p.cmd === cmd);
    if (i !== -1) return Promise.resolve(this.packets.splice(i, 1)[0] as Extract<Packet, { cmd: C }>);
    return new Promise((resolve, reject) => {
      const waiter = {
        cmd,
        resolve: (p: Packet) => {
          clearTimeout(timer);
          resolve(p as Extract<Packet, { cmd: C }>);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${cmd.toUpperCase()} within ${timeoutMs} ms (unclaimed: ${this.packets.map((p) => p.cmd).join(", ") || "none"})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves with the close time; rejects if the socket is still open after `timeoutMs`. */
  waitClosed(timeoutMs = 3000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
      void this.closed.then((at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A CONNECT packet carrying `token` as password (none when undefined); MQTT 5 unless told. */
export function connectPacket(token: string | undefined, options: Partial<IConnectPacket> = {}): IConnectPacket {
  return {
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 5,
    clean: true,
    clientId: `wire-${Math.random().toString(36).slice(2, 10)}`,
    keepalive: 0,
    ...(token === undefined ? {} : { username: "Token", password: Buffer.from(token) }),
    ...options,
  } as IConnectPacket;
}

/** Reads one sample of a Prometheus metric from `GET /metrics`; 0 when the series is absent. */
export async function metricValue(httpPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of body.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? "").split(",").filter(Boolean);
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return 0;
}
