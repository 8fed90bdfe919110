import { networkInterfaces } from "node:os";
import { addressKey } from "./address_policy.js";

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

/**
 * Loopback, unspecified, or an address of one of this host's interfaces (read each time: they
 * change), however it is written: compared by `addressKey`, so `::ffff:7f00:1` is 127.0.0.1.
 */
export function isLocalAddress(address: string): boolean {
  const key = addressKey(address);
  if (key === undefined) return false;
  if (key === LOOPBACK_V6 || key === UNSPECIFIED_V6 || key === "4:0") return true;
  if (key.startsWith("4:") && Number(key.slice(2)) >>> 24 === 127) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (addressKey(info.address.replace(/%.*$/, "")) === key) return true;
  }
  return false;
}

const LOOPBACK_V6 = addressKey("::1");
const UNSPECIFIED_V6 = addressKey("::");
