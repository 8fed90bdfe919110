/**
 * Preloaded into an analysis process (`--import`, after process_guard.ts) when
 * `outbound.allowPrivateTargets` is false: the process may not connect to loopback, private,
 * link-local or other non-public addresses (outbound/address_policy.ts), except Sluice's own
 * API at `TAGOIO_API`, which the SDK talks to.
 *
 * The check sits on the libuv handles' connect and send methods (TCP, UDP, unix sockets),
 * which every connection of the process goes through with the address actually connected to,
 * after DNS: `net`, `tls`, `http(s)`, `fetch` (undici uses `net`), `dgram`. A name that
 * resolves to a private address is therefore refused as its IP literal is. Unix socket
 * connects are refused outright. A refused connect fails as the kernel would refuse it:
 * `EACCES` on the socket's 'error' (or the send callback), e.g. `connect EACCES 127.0.0.1:80`.
 *
 * The handle classes are reached through a socket that never connects; their patched methods
 * are non-configurable and the originals live only in this module, so the script cannot get
 * them back (`process.binding` is refused under the permission model). Not covered: DNS
 * queries themselves (c-ares talks to the configured resolver directly).
 */
import dgram from "node:dgram";
import net from "node:net";
import { constants } from "node:os";
import { isPrivateAddress } from "../outbound/address_policy.js";

const UV_EACCES = -constants.errno.EACCES;

// Sluice's API as the script was given it; read once, before the script can change the env.
const api = (() => {
  try {
    const url = new URL(process.env.TAGOIO_API ?? "");
    return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || (url.protocol === "https:" ? 443 : 80)) };
  } catch {
    return undefined;
  }
})();

function allowed(address: unknown, port: unknown): boolean {
  if (typeof address !== "string") return false;
  if (api && address === api.host && Number(port) === api.port) return true;
  return !isPrivateAddress(address);
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Replaces `proto[name]` with `check`ed calls of the original; `writable` only where Node assigns the method itself. */
function guard(proto: Record<string, unknown>, name: string, check: (args: unknown[]) => boolean, writable = false): void {
  const original = proto[name] as Method | undefined;
  if (typeof original !== "function") return;
  Object.defineProperty(proto, name, {
    value: function guarded(this: unknown, ...args: unknown[]) {
      return check(args) ? original.apply(this, args) : UV_EACCES;
    },
    writable,
    configurable: false,
    enumerable: false,
  });
}

// TCP: a socket whose lookup never answers gets its handle without a syscall.
const probe = new net.Socket();
probe.connect({ host: "sluice.invalid", port: 1, lookup: () => undefined });
const tcp = Object.getPrototypeOf((probe as unknown as { _handle: object })._handle) as Record<string, unknown>;
probe.destroy();
// connect(req, address, port) and connect6(req, address, port)
guard(tcp, "connect", (a) => allowed(a[1], a[2]));
guard(tcp, "connect6", (a) => allowed(a[1], a[2]));

// Unix sockets (Pipe): stdout's handle is one when Sluice reads it through a pipe.
const pipeHandle = (process.stdout as unknown as { _handle?: { constructor: { name: string } } })._handle;
if (pipeHandle?.constructor.name === "Pipe") guard(Object.getPrototypeOf(pipeHandle) as Record<string, unknown>, "connect", () => false);

// UDP: send(req, list, count, port, address, hasCallback) or, connected, send(req, list, count,
// hasCallback); connect(address, port). dgram assigns `handle.send = handle.send6` on IPv6
// sockets, which a non-writable prototype property would forbid: these stay writable, which
// lets a script replace them only with functions of its own, never the originals.
const udpProbe = dgram.createSocket("udp4");
const udp = Object.getPrototypeOf((udpProbe as unknown as { _handle: object })._handle) as Record<string, unknown>;
udpProbe.close();
for (const name of ["send", "send6"]) guard(udp, name, (a) => a.length < 6 || allowed(a[4], a[3]), true);
for (const name of ["connect", "connect6"]) guard(udp, name, (a) => allowed(a[0], a[1]), true);

export {};
