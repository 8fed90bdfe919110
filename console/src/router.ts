/**
 * Hash routing (`/#/devices/abc/inspector`): the API owns every real path on the HTTP port
 * (`/device`, `/data`, ...), so the console's own locations live after the `#` and can never
 * shadow or be shadowed by a route of the API.
 */
import { signal } from "@preact/signals";

export type Params = Record<string, string>;

function current(): string {
  const path = decodeURI(location.hash.replace(/^#/, ""));
  return path.startsWith("/") ? path : "/";
}

/** The console's location, without the `#`; always starts with `/`. */
export const path = signal(current());
window.addEventListener("hashchange", () => {
  path.value = current();
});

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", `#${to}`);
  else history.pushState(null, "", `#${to}`);
  path.value = current();
}

/** `/devices/:id/:tab?` against a path: the params, or undefined when it does not match. */
export function matchPath(pattern: string, target: string): Params | undefined {
  const want = pattern.split("/").filter(Boolean);
  const have = target.split("?")[0]!.split("/").filter(Boolean);
  const params: Params = {};
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    const w = want[i];
    const h = have[i];
    if (w === undefined) return undefined;
    const optional = w.endsWith("?");
    if (w.startsWith(":")) {
      if (h === undefined) {
        if (optional) continue;
        return undefined;
      }
      params[w.slice(1, optional ? -1 : undefined)] = h;
    } else if (w !== h) return undefined;
  }
  return params;
}

/** Query parameters after the path (`#/devices?tag=site:a`). */
export function pathQuery(target: string = path.value): URLSearchParams {
  return new URLSearchParams(target.split("?")[1] ?? "");
}
