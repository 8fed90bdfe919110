/**
 * Where the public share view of a dashboard is served: a link is `<http base>/view#<key>`.
 * The key stays after the `#`, so the page's own request line (and any log of it) never holds
 * it. Used by the HTTP server (src/http/console.ts) and by dashboard reports, which print it.
 */
export const SHARE_VIEW_PATH = "/view";

export const shareViewUrl = (origin: string, key: string): string => `${origin}${SHARE_VIEW_PATH}#${encodeURIComponent(key)}`;
