import type net from "node:net";

/**
 * Connections in progress: TCP socket accepted, CONNECT not yet answered with success (TLS or
 * WebSocket handshake under way, waiting for CONNECT, authenticating, or waiting out a
 * failed-auth delay). Such a socket has shown no credentials, so how many there are is capped,
 * in all (`maxPendingConnections`) and per remote address (`maxPendingConnectionsPerAddress`,
 * so one host cannot take every slot), and each has `connectTimeoutMs` from accept to be
 * accepted, or is closed. Every MQTT listener (tcp, tls, ws, wss) is `watch`ed, so the count
 * starts at the raw TCP accept, before any handshake: one mechanism for all transports.
 * What each may make the broker hold is bounded elsewhere: a CONNECT of at most
 * `maxConnectPacketSize`, and nothing read past it until authentication succeeds.
 */
export class PendingConnections {
  private total = 0;
  private readonly byAddress = new Map<string, number>();
  /**
   * Slots taken at accept and not yet claimed, by the accepted socket. Keyed by the object, not
   * by a 4-tuple string: reading a socket's addresses caches them on it, which cost an idle
   * connection about 2 KB.
   */
  private readonly unclaimed = new WeakMap<net.Socket, PendingSlot>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
    private readonly timeoutMs: number = 10_000,
    /** Told of each socket closed at once because a cap was reached. */
    private readonly onRefused?: (address: string) => void,
  ) {}

  get size(): number {
    return this.total;
  }

  /** Takes a slot for `address`; false when a cap is reached (the socket is to be closed). */
  admit(address: string): boolean {
    const mine = this.byAddress.get(address) ?? 0;
    if (this.total >= this.maxTotal || mine >= this.maxPerAddress) return false;
    this.total++;
    this.byAddress.set(address, mine + 1);
    return true;
  }

  release(address: string): void {
    const mine = this.byAddress.get(address);
    if (mine === undefined) return;
    this.total--;
    if (mine <= 1) this.byAddress.delete(address);
    else this.byAddress.set(address, mine - 1);
  }

  /**
   * A slot for a socket from `address` whose deadline runs from now: `close` is called when it
   * passes before the slot is released. Undefined when a cap is reached.
   */
  hold(address: string, close: () => void): PendingSlot | undefined {
    if (!this.admit(address)) {
      this.onRefused?.(address);
      return undefined;
    }
    return new PendingSlot(this, address, close, this.timeoutMs);
  }

  /**
   * Counts every TCP socket `server` accepts as in progress, from the accept: over a cap it is
   * destroyed at once, and it is destroyed when its deadline passes before CONNECT is accepted.
   * Call before adding the transport's own "connection" listener (for `net.Server`); TLS and
   * HTTP servers' built-in listeners run first, which is fine (a destroyed socket just closes).
   */
  watch(server: net.Server): void {
    server.on("connection", (socket: net.Socket) => {
      const slot = this.hold(socket.remoteAddress ?? "unknown", () => socket.destroy());
      if (!slot) {
        socket.on("error", () => undefined);
        socket.destroy();
        return;
      }
      this.unclaimed.set(socket, slot);
      socket.once("close", () => slot.release());
    });
  }

  /**
   * The slot the accepted TCP socket under `socket` took (`socket` itself, or the raw socket a
   * server-side TLS socket wraps, its `_parent`); the caller now releases it when CONNECT is
   * accepted.
   */
  claim(socket: net.Socket): PendingSlot | undefined {
    // `_parent`: Node's name for the raw socket under a server-side TLSSocket (not in the typings).
    const accepted = (socket as net.Socket & { _parent?: net.Socket })._parent ?? socket;
    const slot = this.unclaimed.get(accepted);
    if (slot) this.unclaimed.delete(accepted);
    return slot?.held ? slot : undefined;
  }
}

/** One connection in progress: a counted slot and the deadline to leave it. */
export class PendingSlot {
  // Dropped on release: a slot lives as long as its connection, its timer and callbacks need not.
  private timer: NodeJS.Timeout | undefined;
  private holding = true;
  /** Called just before the deadline closes the socket (a connection records why). */
  onExpire: (() => void) | undefined;

  constructor(
    private readonly owner: PendingConnections,
    readonly address: string,
    close: () => void,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => {
      if (!this.holding) return;
      this.onExpire?.();
      this.release();
      close();
    }, timeoutMs);
    this.timer.unref();
  }

  get held(): boolean {
    return this.holding;
  }

  release(): void {
    if (!this.holding) return;
    this.holding = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.onExpire = undefined;
    this.owner.release(this.address);
  }
}
