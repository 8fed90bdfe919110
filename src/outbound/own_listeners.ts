import { networkInterfaces } from "node:os";

/**
 * Sluice's own MQTT listeners, so that a relay never connects back to the broker it feeds: its
 * uplink would come back to its own subscription and go round forever. Judged on the address
 * actually connected to (after DNS): any loopback or local interface address with one of the
 * ports Sluice listens on. Every local address counts, not only the one `host` binds, because
 * a wildcard bind answers on all of them and the cost of being wrong the other way is a loop.
 */
export class OwnListeners {
  private ports = new Set<number>();

  /** The MQTT ports (mqtt, mqtts, ws, wss); 0 (an ephemeral port not known yet) is ignored. */
  setPorts(ports: readonly number[]): void {
    this.ports = new Set(ports.filter((p) => p > 0));
  }

  isOwn(address: string, port: number): boolean {
    return this.ports.has(port) && isLocalAddress(address);
  }
}

/** Loopback, unspecified, or an address of one of this host's interfaces (read each time: they change). */
export function isLocalAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1];
  if (v4 !== undefined) {
    if (v4.startsWith("127.") || v4 === "0.0.0.0") return true;
  } else if (bare === "::1" || bare === "::") return true;
  const wanted = v4 ?? bare.replace(/%.*$/, "");
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.address.toLowerCase().replace(/%.*$/, "") === wanted) return true;
  }
  return false;
}
