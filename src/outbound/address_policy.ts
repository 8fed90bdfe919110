/**
 * Which IP addresses count as "private" for `outbound.allowPrivateTargets`: everything a user
 * of a shared Sluice could use to reach the host itself, its network or a cloud's metadata
 * service. Decided on the address connected to, never on a host name, because a name can
 * resolve to anything.
 *
 * The analysis preload (network_guard.ts) runs this inside a process whose script may have
 * replaced any built-in before it connects (`RegExp.prototype.exec`, `String.prototype.*`,
 * `Object.prototype.port`...). So the address is parsed here by hand, with nothing but
 * operators on primitives and typed arrays (whose indexed access never reaches a prototype):
 * no `BlockList` (its `check` builds a `SocketAddress` from an options object whose missing
 * `port` and `flowlabel` are read from `Object.prototype`: one setter there and every address
 * reads "public"), no regular expression, no string or array method. Anything this parser does
 * not read as an IP literal is private, so a confused caller fails closed.
 */

/** An IPv4 address as a number (0 to 2^32 - 1), or -1. Dotted decimal only, as libuv parses it. */
function parseIPv4(text: string, from: number, to: number): number {
  let value = 0;
  let parts = 0;
  let i = from;
  while (i < to) {
    let octet = 0;
    let digits = 0;
    while (i < to && text[i]! >= "0" && text[i]! <= "9") {
      if (digits === 1 && octet === 0) return -1; // a leading zero: inet_pton refuses it
      octet = octet * 10 + DIGIT[text[i]!]!;
      digits++;
      i++;
      if (digits > 3) return -1;
    }
    if (digits === 0 || octet > 255) return -1;
    value = value * 256 + octet;
    parts++;
    if (i === to) break;
    if (text[i] !== "." || parts === 4) return -1;
    i++;
    if (i === to) return -1;
  }
  return parts === 4 ? value : -1;
}

const DIGIT = { __proto__: null, 0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9 } as unknown as Record<string, number>;
const HEX = {
  __proto__: null, 0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9,
  a: 10, b: 11, c: 12, d: 13, e: 14, f: 15, A: 10, B: 11, C: 12, D: 13, E: 14, F: 15,
} as unknown as Record<string, number | undefined>;

/** An IPv6 address as 8 groups, or undefined; a zone (`%eth0`) is ignored, a dotted IPv4 tail read. */
function parseIPv6(text: string): Uint16Array | undefined {
  let end = text.length;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%") {
      end = i;
      break;
    }
  }
  const groups = new Uint16Array(8);
  let count = 0;
  let gap = -1; // where "::" stands, in groups
  let i = 0;
  if (end >= 2 && text[0] === ":" && text[1] === ":") {
    gap = 0;
    i = 2;
  } else if (end >= 1 && text[0] === ":") {
    return undefined;
  }
  while (i < end) {
    if (count === 8) return undefined;
    // A dotted IPv4 tail takes the last two groups.
    let dotted = false;
    for (let j = i; j < end && text[j] !== ":"; j++) {
      if (text[j] === ".") {
        dotted = true;
        break;
      }
    }
    if (dotted) {
      const v4 = parseIPv4(text, i, end);
      if (v4 < 0 || count > 6) return undefined;
      groups[count++] = (v4 - (v4 % 65536)) / 65536;
      groups[count++] = v4 % 65536;
      i = end;
      break;
    }
    let value = 0;
    let digits = 0;
    while (i < end && HEX[text[i]!] !== undefined) {
      value = value * 16 + HEX[text[i]!]!;
      digits++;
      i++;
      if (digits > 4) return undefined;
    }
    if (digits === 0) return undefined;
    groups[count++] = value;
    if (i === end) break;
    if (text[i] !== ":") return undefined;
    i++;
    if (i < end && text[i] === ":") {
      if (gap >= 0) return undefined;
      gap = count;
      i++;
    } else if (i === end) {
      return undefined; // a trailing single ":"
    }
  }
  if (gap < 0) return count === 8 ? groups : undefined;
  if (count === 8) return undefined; // "::" must stand for at least one group
  const full = new Uint16Array(8);
  const tail = count - gap;
  for (let k = 0; k < gap; k++) full[k] = groups[k]!;
  for (let k = 0; k < tail; k++) full[8 - tail + k] = groups[gap + k]!;
  return full;
}

/** An IP literal as the policy reads it: IPv4 as a number, IPv6 as groups; undefined otherwise. */
export type ParsedAddress = { v4: number; v6?: undefined } | { v4?: undefined; v6: Uint16Array };

export function parseAddress(address: string): ParsedAddress | undefined {
  if (typeof address !== "string") return undefined;
  let text = address;
  if (text.length >= 2 && text[0] === "[" && text[text.length - 1] === "]") {
    // No String.prototype.slice: rebuild the inner text by concatenation of primitives.
    let inner = "";
    for (let i = 1; i < text.length - 1; i++) inner += text[i];
    text = inner;
  }
  const v4 = parseIPv4(text, 0, text.length);
  if (v4 >= 0) return { v4 };
  const v6 = parseIPv6(text);
  return v6 ? { v6 } : undefined;
}

/** The IPv4 address an IPv6 address stands for (mapped, compatible, SIIT, NAT64, 6to4), or -1. */
function embeddedIPv4(g: Uint16Array): number {
  const low = g[6]! * 65536 + g[7]!;
  const zero = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (g[k] !== 0) return false;
    return true;
  };
  if (zero(0, 5) && g[5] === 0xffff) return low; // ::ffff:a.b.c.d (mapped)
  if (zero(0, 6)) return low; // ::a.b.c.d (compatible; :: and ::1 land in 0.0.0.0/8)
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return low; // ::ffff:0:a.b.c.d (SIIT)
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return low; // 64:ff9b::/96 (NAT64)
  if (g[0] === 0x2002) return g[1]! * 65536 + g[2]!; // 2002::/16 (6to4)
  return -1;
}

const V4_NON_PUBLIC: ReadonlyArray<readonly [number, number]> = [
  ["0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the host itself
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local: cloud metadata services live here
  ["172.16.0.0", 12],
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation (TEST-NET-1)
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation (TEST-NET-2)
  ["203.0.113.0", 24], // documentation (TEST-NET-3)
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
].map(([network, prefix]) => [parseIPv4(network as string, 0, (network as string).length), prefix as number] as const);

const V6_NON_PUBLIC: ReadonlyArray<readonly [Uint16Array, number]> = [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48], // local-use NAT64
  ["100::", 64], // discard-only
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated, still routed by some stacks)
  ["ff00::", 8], // multicast
].map(([network, prefix]) => [parseIPv6(network as string)!, prefix as number] as const);

function inV4(address: number, network: number, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  return address - (address % size) === network;
}

function inV6(address: Uint16Array, network: Uint16Array, prefix: number): boolean {
  let bits = prefix;
  for (let k = 0; k < 8 && bits > 0; k++) {
    const take = bits >= 16 ? 16 : bits;
    const size = 2 ** (16 - take);
    if (address[k]! - (address[k]! % size) !== network[k]) return false;
    bits -= take;
  }
  return true;
}

function v4Private(address: number): boolean {
  for (let k = 0; k < V4_NON_PUBLIC.length; k++) if (inV4(address, V4_NON_PUBLIC[k]![0], V4_NON_PUBLIC[k]![1])) return true;
  return false;
}

/** True for an address `allowPrivateTargets: false` refuses; also for anything that is not an IP. */
export function isPrivateAddress(address: string): boolean {
  const parsed = parseAddress(address);
  if (parsed === undefined) return true;
  if (parsed.v6 === undefined) return v4Private(parsed.v4);
  const embedded = embeddedIPv4(parsed.v6);
  if (embedded >= 0) return v4Private(embedded);
  for (let k = 0; k < V6_NON_PUBLIC.length; k++) if (inV6(parsed.v6, V6_NON_PUBLIC[k]![0], V6_NON_PUBLIC[k]![1])) return true;
  return false;
}

/**
 * One spelling per address, to compare two of them: IPv4 (and IPv6 that embeds IPv4 as a
 * mapped, compatible or SIIT address) as "4:<number>", other IPv6 as "6:<groups>". Undefined
 * for anything that is not an IP.
 */
export function addressKey(address: string): string | undefined {
  const parsed = parseAddress(address);
  if (parsed === undefined) return undefined;
  if (parsed.v6 === undefined) return `4:${parsed.v4}`;
  const g = parsed.v6;
  const embedded = embeddedIPv4(g);
  if (embedded >= 0 && g[0] === 0) return `4:${embedded}`;
  let key = "6";
  for (let k = 0; k < 8; k++) key += `:${g[k]}`;
  return key;
}
