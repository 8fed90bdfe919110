/**
 * Preloaded into an analysis process (`--import`, after process_guard.ts) when
 * `outbound.allowPrivateTargets` is false: the process may not connect to loopback, private,
 * link-local, documentation or other non-public addresses (outbound/address_policy.ts), nor to
 * any address of the host's own interfaces (a public IP of the host reaches everything bound
 * to 0.0.0.0 there, Sluice's own listeners included), except Sluice's own API at `TAGOIO_API`
 * (host and port), which the SDK talks to.
 *
 * The check sits on the libuv handles' connect and send methods (TCP, UDP, unix sockets),
 * which every connection of the process goes through with the address actually connected to,
 * after DNS: `net`, `tls`, `http(s)`, `fetch` (undici uses `net`), `dgram`. A name that
 * resolves to a private address is therefore refused as its IP literal is. Unix socket
 * connects are refused outright. A refused connect fails as the kernel would refuse it:
 * `EACCES` on the socket's 'error' (or the send callback), e.g. `connect EACCES 127.0.0.1:80`.
 * DNS servers: c-ares sends its queries itself, not through these handles, so the resolver
 * channel's `setServers` (under `dns.setServers`, `dns.promises.setServers` and both
 * `Resolver` classes) refuses a server that is not allowed the same way, with ERR_ACCESS_DENIED.
 *
 * The script runs after this module in the same realm and may replace any built-in first. So
 * the guard looks nothing up at call time: `Reflect.apply` and the originals are captured now,
 * an address must be a string and a port a number (primitives: what is checked is what the
 * native call receives, no `toString`/`valueOf` in between), and the classifier
 * (address_policy.ts) uses no built-in at all. The handle classes are reached through a socket
 * that never connects; their patched methods are non-configurable and the originals live only
 * in this module, so the script cannot get them back (`process.binding` is refused under the
 * permission model).
 */
import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";
import { constants } from "node:os";
import { addressKey, isPrivateAddress } from "../outbound/address_policy.js";

const ReflectApply = Reflect.apply;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ArrayIsArray = Array.isArray;
const ErrorConstructor = Error;
const UV_EACCES = -constants.errno.EACCES;

// Sluice's API as the script was given it; read once, before the script can change the env.
const api = (() => {
  try {
    const url = new URL(process.env.TAGOIO_API ?? "");
    return { key: addressKey(url.hostname.replace(/^\[|\]$/g, "")), port: Number(url.port || (url.protocol === "https:" ? 443 : 80)) };
  } catch {
    return undefined;
  }
})();

// The host's own interface addresses, as Sluice read them when it started the process. Kept
// in an object without a prototype: a lookup there reaches nothing the script owns.
const own: Record<string, true | undefined> = Object.create(null) as Record<string, true | undefined>;
for (const address of (process.env.SLUICE_OWN_ADDRESSES ?? "").split(",")) {
  const key = addressKey(address);
  if (key !== undefined) own[key] = true;
}
delete process.env.SLUICE_OWN_ADDRESSES;

function allowed(address: unknown, port: unknown): boolean {
  if (typeof address !== "string" || typeof port !== "number") return false;
  const key = addressKey(address);
  if (key === undefined) return false;
  if (api !== undefined && key === api.key && port === api.port) return true;
  return own[key] !== true && !isPrivateAddress(address);
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Replaces `proto[name]` with `check`ed calls of the original, with the very arguments checked
 * (primitives, in an array of this module's own); `writable` only where Node assigns the method
 * itself.
 */
function guard(proto: Record<string, unknown>, name: string, check: (args: unknown[]) => boolean, writable = false): void {
  const original = proto[name] as Method | undefined;
  if (typeof original !== "function") return;
  ObjectDefineProperty(proto, name, {
    value: function guarded(this: unknown, ...args: unknown[]) {
      return check(args) ? ReflectApply(original, this, args) : UV_EACCES;
    },
    writable,
    configurable: false,
    enumerable: false,
  });
}

// TCP: a socket whose lookup never answers gets its handle without a syscall.
const probe = new net.Socket();
probe.connect({ host: "sluice.invalid", port: 1, lookup: () => undefined });
const tcp = ObjectGetPrototypeOf((probe as unknown as { _handle: object })._handle) as Record<string, unknown>;
probe.destroy();
// connect(req, address, port) and connect6(req, address, port)
guard(tcp, "connect", (a) => a.length === 3 && allowed(a[1], a[2]));
guard(tcp, "connect6", (a) => a.length === 3 && allowed(a[1], a[2]));

// Unix sockets (Pipe): stdout's or stderr's handle is one when Sluice reads them through pipes.
for (const stream of [process.stdout, process.stderr]) {
  const handle = (stream as unknown as { _handle?: { constructor: { name: string } } })._handle;
  if (handle?.constructor.name === "Pipe") {
    guard(ObjectGetPrototypeOf(handle) as Record<string, unknown>, "connect", () => false);
    break;
  }
}

// UDP: send(req, list, count, port, address, hasCallback) or, connected, send(req, list, count,
// hasCallback) (the native side takes 6 or 4 arguments, nothing else); connect(address, port).
// dgram assigns `handle.send = handle.send6` on IPv6 sockets, which a non-writable prototype
// property would forbid: these stay writable, which lets a script replace them only with
// functions of its own, never the originals.
const udpProbe = dgram.createSocket("udp4");
const udp = ObjectGetPrototypeOf((udpProbe as unknown as { _handle: object })._handle) as Record<string, unknown>;
udpProbe.close();
for (const name of ["send", "send6"]) guard(udp, name, (a) => a.length === 4 || (a.length === 6 && allowed(a[4], a[3])), true);
for (const name of ["connect", "connect6"]) guard(udp, name, (a) => a.length === 2 && allowed(a[0], a[1]), true);

// DNS servers: the c-ares channel's setServers([[family, ip, port], ...]) under every public
// way to set them. The list is copied into arrays of this module's own, of primitives read once,
// and only that copy reaches c-ares.
const channel = ObjectGetPrototypeOf((new dns.Resolver() as unknown as { _handle: object })._handle) as Record<string, unknown>;
const originalSetServers = channel.setServers as Method;
ObjectDefineProperty(channel, "setServers", {
  value: function guardedSetServers(this: unknown, servers: unknown) {
    if (!ArrayIsArray(servers)) return ReflectApply(originalSetServers, this, [servers]);
    const count = (servers as unknown[]).length;
    const copy: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const entry = (servers as unknown[])[i];
      if (!ArrayIsArray(entry)) throw refusedServer();
      const family = (entry as unknown[])[0];
      const ip = (entry as unknown[])[1];
      const port = (entry as unknown[])[2];
      if (typeof family !== "number" || !allowed(ip, port)) throw refusedServer();
      ObjectDefineProperty(copy, i, { value: [family, ip, port], writable: true, enumerable: true, configurable: true });
    }
    return ReflectApply(originalSetServers, this, [copy]);
  },
  writable: false,
  configurable: false,
  enumerable: false,
});

function refusedServer(): Error {
  const error = new ErrorConstructor("Access to this API has been restricted: an analysis may not use a DNS server that is not a public address");
  ObjectDefineProperty(error, "code", { value: "ERR_ACCESS_DENIED", writable: true, configurable: true, enumerable: true });
  return error;
}

export {};
