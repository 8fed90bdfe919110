// A bare TCP connection that speaks just enough MQTT to CONNECT and SUBSCRIBE, then hands the
// socket to the publisher or leaves the scanner counting what arrives.
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { connectPacket, disconnectPacket, pingreqPacket, subscribePacket, type ConnectOptions } from "../mqtt/packets.js";
import { FrameScanner, PACKET_CONNACK, PACKET_PINGRESP, PACKET_SUBACK } from "../mqtt/scanner.js";

interface Waiter {
  type: number;
  resolve: (packet: Buffer) => void;
  reject: (err: Error) => void;
}

export interface ClientOptions {
  host: string;
  port: number;
  clientId: string;
  timeoutMs: number;
  /** Protocol version and credentials for CONNECT (default: 3.1.1, anonymous). */
  connect?: ConnectOptions;
  /** Called once if the connection ends after the handshake (broker kicked us or died). */
  onLost?: () => void;
}

export class LoadClient {
  readonly scanner: FrameScanner;
  private readonly waiters: Waiter[] = [];
  private readonly onData = (chunk: Buffer): void => this.scanner.feed(chunk, performance.now());
  private established = false;
  closed = false;
  lastError: Error | null = null;

  private constructor(
    readonly socket: Socket,
    private readonly opts: ClientOptions,
  ) {
    this.scanner = new FrameScanner((type, packet) => this.control(type, packet));
    socket.on("data", this.onData);
    socket.on("error", (err) => {
      this.lastError = err;
    });
    socket.on("close", () => {
      this.closed = true;
      const err = this.lastError ?? new Error("connection closed by broker");
      for (const w of this.waiters.splice(0)) w.reject(err);
      if (this.established) opts.onLost?.();
    });
  }

  /** Resolves once CONNACK with return (reason) code 0 has arrived. */
  static async open(opts: ClientOptions): Promise<LoadClient> {
    const socket = connect({ host: opts.host, port: opts.port, noDelay: true });
    const client = new LoadClient(socket, opts);
    const connack = client.expect(PACKET_CONNACK);
    socket.once("connect", () => socket.write(connectPacket(opts.clientId, opts.connect)));
    try {
      const packet = await client.withTimeout(connack, "CONNACK");
      // After the fixed header (an MQTT 5 CONNACK's properties can make its length 2 bytes):
      // acknowledge flags, then the return code (3.1.1) or reason code (5.0).
      const code = packet[(packet[1]! & 0x80) === 0 ? 3 : 4];
      if (code !== 0) throw new Error(`CONNACK refused with ${opts.connect?.protocolVersion === 5 ? "reason" : "return"} code ${code}`);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    client.established = true;
    return client;
  }

  /**
   * From now on every byte the broker sends goes to `onData` instead of the scanner (the
   * ingest publisher reads its own PUBACKs). Call only between packets, i.e. right after the
   * handshake, when nothing else is on its way.
   */
  handOver(onData: (chunk: Buffer) => void): void {
    this.socket.off("data", this.onData);
    this.socket.on("data", onData);
  }

  async subscribe(filter: string): Promise<void> {
    const suback = this.expect(PACKET_SUBACK);
    this.socket.write(subscribePacket(filter, 1));
    const packet = await this.withTimeout(suback, "SUBACK");
    // Return codes start after the 2-byte header and the 2-byte packet id; 0x80 means refused.
    if (packet[4] === 0x80) throw new Error(`SUBSCRIBE ${filter} refused`);
  }

  async ping(): Promise<void> {
    const pingresp = this.expect(PACKET_PINGRESP);
    this.socket.write(pingreqPacket());
    await this.withTimeout(pingresp, "PINGRESP");
  }

  /** Polite close, for probes that should look like an ordinary client leaving. */
  disconnect(): void {
    this.established = false;
    this.socket.end(disconnectPacket());
  }

  /** Tears the connection down with RST so thousands of closes leave no TIME_WAIT behind. */
  destroy(): void {
    this.established = false;
    if (this.socket.destroyed) return;
    try {
      this.socket.resetAndDestroy();
    } catch {
      this.socket.destroy();
    }
  }

  private expect(type: number): Promise<Buffer> {
    return new Promise((resolve, reject) => this.waiters.push({ type, resolve, reject }));
  }

  private control(type: number, packet: Buffer): void {
    const i = this.waiters.findIndex((w) => w.type === type);
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(packet);
  }

  private withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${what} from ${this.opts.host}:${this.opts.port} within ${this.opts.timeoutMs} ms`)),
        this.opts.timeoutMs,
      );
      promise.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}
