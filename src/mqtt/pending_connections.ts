/**
 * Connections in progress: socket accepted, CONNECT not yet answered with success (waiting
 * for CONNECT, authenticating, or waiting out a failed-auth delay). Such a socket has shown no
 * credentials, so how many there are is capped, in all (`maxPendingConnections`) and per
 * remote address (`maxPendingConnectionsPerAddress`, so one host cannot take every slot).
 * What each may make the broker hold is bounded elsewhere: a CONNECT of at most
 * `maxConnectPacketSize`, and nothing read past it until authentication succeeds.
 */
export class PendingConnections {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
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
}
