import { SluiceError } from "../errors.js";

/**
 * A `cluster.url` that cannot be read. The message names the server by its place in the list,
 * never by its text: that text may hold the NATS password, and the error is printed and logged.
 */
export class NatsUrlError extends SluiceError {
  constructor(index: number, total: number, why: string) {
    super("CLUSTER_URL_INVALID", `cluster.url: server ${index + 1} of ${total} ${why} (nats://[user:password@]host:port, comma-separated; percent-encode "%" and "," in a user or password)`);
    this.name = "NatsUrlError";
  }
}

/** Scheme, then everything up to the last "@" (a host never holds one, a password may), then the host. */
const SERVER = /^([a-z][a-z0-9+.-]*:\/\/)?(?:(.*)@)?(.*)$/is;

/**
 * The server URLs without credentials, and the credentials apart: nats.js takes none from a URL
 * (it reads host and port only, and a `:digits` in a password would pass for the port). The
 * user and password are everything before a server's last "@", percent-decoded, so a password
 * may hold "@", ":", "/" as they are; "%" and "," must be percent-encoded. Throws NatsUrlError
 * for percent-encoding that does not decode.
 */
export function natsServers(url: string): { servers: string[]; user?: string; pass?: string } {
  let user: string | undefined;
  let pass: string | undefined;
  const pieces = url.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const servers = pieces.map((s, i) => {
    const [, scheme, auth, host] = SERVER.exec(s)!;
    if (auth === undefined) return s;
    const colon = auth.indexOf(":");
    try {
      user = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon));
      pass = colon < 0 ? undefined : decodeURIComponent(auth.slice(colon + 1));
    } catch {
      throw new NatsUrlError(i, pieces.length, "has a user or password that is not valid percent-encoding");
    }
    return `${scheme ?? ""}${host}`;
  });
  return { servers, ...(user !== undefined && { user, pass }) };
}

/** Server URLs for a log line: `nats://user:password@host` names its user only. */
export function withoutCredentials(servers: string | string[] | undefined): string[] {
  const list = servers === undefined ? [] : Array.isArray(servers) ? servers : [servers];
  return list.map((s) => {
    const [, scheme, auth, host] = SERVER.exec(s)!;
    return auth === undefined ? s : `${scheme ?? ""}${auth.split(":")[0]}:***@${host}`;
  });
}
