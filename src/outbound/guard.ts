import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { connect as netConnect, isIP, Socket, type LookupFunction } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { SluiceError } from "../errors.js";
import { isPrivateAddress } from "./address_policy.js";
import { isLocalAddress, type OwnListeners } from "./own_listeners.js";

/** The words every refusal by the policy carries (dead letters, relay status, inspector). */
export const REFUSED_BY_POLICY = "refused by outbound.allowPrivateTargets";

/**
 * A connection Sluice would not make. The message names the host as given and never the address
 * it resolved to nor anything learnt from trying: a refusal reads the same for a closed port, an
 * open one and a name that resolves inside the network, so webhooks and relays cannot be used
 * to map what is behind Sluice.
 */
export class OutboundRefused extends SluiceError {
  constructor(host: string, reason: "private" | "self") {
    super(
      "OUTBOUND_REFUSED",
      reason === "private"
        ? `connection to ${host} ${REFUSED_BY_POLICY} (not a public address)`
        : `connection to ${host} refused: it is this Sluice's own broker, and a relay to itself would loop`,
      400,
    );
    this.name = "OutboundRefused";
  }
}

export interface OutboundGuardOptions {
  /** `outbound.allowPrivateTargets`. */
  allowPrivateTargets: boolean;
  /** Sluice's own listeners, refused whatever `allowPrivateTargets` says (relays). */
  self?: OwnListeners;
}

/**
 * Decides outbound connections on the address actually connected to. Node resolves a name
 * through the `lookup` given to net/tls/http connects, so `lookup()` sees every address a name
 * resolves to (numeric forms such as `2130706433` or `0x7f.1` included: getaddrinfo turns them
 * into addresses) and drops the refused ones; Node skips `lookup` for an IP literal, so
 * `connect()` and `refusal()` check literals directly. Nothing is sent to a refused address.
 */
export class OutboundGuard {
  constructor(private readonly options: OutboundGuardOptions) {}

  /** Why `address` (an IP) on `port` is refused, or undefined. `host` is what the user wrote. */
  check(address: string, port: number | undefined, host: string): OutboundRefused | undefined {
    if (port !== undefined && this.options.self?.isOwn(address, port)) return new OutboundRefused(host, "self");
    // The host's own addresses count as private: a public IP of this machine reaches whatever
    // listens on 0.0.0.0 here, firewalled from outside or not.
    if (!this.options.allowPrivateTargets && (isPrivateAddress(address) || isLocalAddress(address))) return new OutboundRefused(host, "private");
    return undefined;
  }

  /** The refusal of a host that is an IP literal (bracketed or not); undefined for a name or an allowed address. */
  refusal(host: string, port?: number): OutboundRefused | undefined {
    const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    return isIP(bare) === 0 ? undefined : this.check(bare, port, host);
  }

  /** A `lookup` for net/tls/http connects to `port` that resolves and keeps only allowed addresses. */
  lookup(port?: number): LookupFunction {
    return (hostname, options, callback) => {
      dnsLookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return callback(err, "", 0);
        let refused: OutboundRefused | undefined;
        const allowed = addresses.filter((a) => {
          const why = this.check(a.address, port, hostname);
          refused ??= why;
          return why === undefined;
        });
        if (allowed.length === 0) {
          const error = refused ?? Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" });
          return callback(error, "", 0);
        }
        // With autoSelectFamily (Node's default) the caller asks for all and tries each in turn.
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
        callback(null, allowed[0]!.address, allowed[0]!.family);
      });
    };
  }

  /**
   * A TCP (or, with `tls`, TLS) connection through the guard. A refused literal gives a socket
   * that fails with the refusal on the next tick, as a refused name does, so callers see one path.
   */
  connect(target: { host: string; port: number; tls?: ConnectionOptions }): Socket {
    const refused = this.refusal(target.host, target.port);
    if (refused) {
      const socket = new Socket();
      process.nextTick(() => socket.destroy(refused));
      return socket;
    }
    const host = target.host.replace(/^\[(.*)\]$/, "$1");
    const lookup = this.lookup(target.port);
    if (!target.tls) return netConnect({ host, port: target.port, lookup });
    return tlsConnect({ ...target.tls, host, port: target.port, lookup, ...(isIP(host) === 0 && target.tls.servername === undefined ? { servername: host } : {}) });
  }
}
