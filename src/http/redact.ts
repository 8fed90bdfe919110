/**
 * URLs as they may be logged: tokens masked. A token reaches a URL in two ways: `?token=` (an
 * EventSource cannot set headers) and a route parameter (`DELETE /device/token/:token`); an
 * account's own URLs (webhooks) may hold such parameters and user:password too. Logs are read by
 * more people, and kept longer, than the database holding the token hashes. Every log field
 * named `url` goes through here (observability/logger.ts).
 */
const MASK = "***";

/** Query parameters whose value is a credential, compared on the decoded, lower-cased name. */
const SECRET_PARAMS = new Set(["token", "authorization", "access_token"]);

/** `scheme://user:password@` at the start of an absolute URL. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i;

/** TagoIO-shaped tokens (8-4-4-4-12 hex), masked wherever they appear in a path. */
const TOKEN_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `routePattern` is the matched route (`/device/token/:token`), when there is one: its `:token`
 * segments are masked even when the client wrote them in some other shape or percent-encoded
 * the path around them, which a pattern on the raw URL would miss.
 */
export function redactUrl(url: string, routePattern?: string): string {
  // An absolute URL (a webhook's, a relay's) may carry credentials before its host.
  url = url.replace(USERINFO, (_, scheme: string) => `${scheme}${MASK}@`);
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? undefined : url.slice(q + 1);
  return redactPath(path, routePattern) + (query === undefined ? "" : `?${redactQuery(query)}`);
}

function redactPath(path: string, routePattern: string | undefined): string {
  const pattern = routePattern?.split("/");
  return path
    .split("/")
    .map((segment, i) => (pattern?.[i] === ":token" || TOKEN_SHAPE.test(safeDecode(segment)) ? MASK : segment))
    .join("/");
}

function redactQuery(query: string): string {
  return query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq < 0) return pair;
      // `token[]=x`, `Token=x` and `%74oken=x` all reach the same parameter once parsed.
      const name = safeDecode(pair.slice(0, eq)).replace(/\[.*$/s, "").toLowerCase();
      return SECRET_PARAMS.has(name) ? `${pair.slice(0, eq)}=${MASK}` : pair;
    })
    .join("&");
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}
