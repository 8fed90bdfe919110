/**
 * A request URL as it may be logged: without the tokens some URLs carry. Streams take
 * `?token=` (a browser's EventSource cannot set headers), and revoking a device or account
 * token by value puts it in the path (`/device/token/T`, `/profile/:id/token/T`). Whoever
 * reads the logs must not be able to use what they read.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? "" : url.slice(q);
  return (
    path.replace(/\/token\/[^/]+/g, "/token/[redacted]") +
    query.replace(/([?&](?:token|access_token)(?:%5B%5D|\[\])?=)[^&#]*/gi, "$1[redacted]")
  );
}
