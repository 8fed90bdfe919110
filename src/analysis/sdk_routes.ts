/**
 * Preloaded into every analysis process (`--import`, after the guards): sends the SDK's calls
 * to TagoIO hosts that have no region setting to Sluice. The SDK finds Sluice's API through
 * `TAGOIO_API` (its region resolution reads it), but `Services.PDF.generate` posts to a fixed
 * host, `https://pdf.middleware.tago.io`, with the global `fetch`. This wraps `fetch` so that a
 * request to that host goes to `<TAGOIO_API>/analysis/services/pdf/generate` instead, method,
 * headers (the `token`) and body unchanged, and a script written for TagoIO runs unchanged.
 *
 * A convenience, not a boundary: the script may replace `fetch` again and only changes its own
 * requests. Where the network guard is loaded, the rewritten request goes to the one address
 * it lets through (Sluice's API); the original host would be a public address anyway.
 */
const ROUTED_HOSTS: Record<string, string> = { "pdf.middleware.tago.io": "/analysis/services/pdf/generate" };

const api = process.env.TAGOIO_API;
const originalFetch = globalThis.fetch;

function routed(input: unknown): string | undefined {
  if (api === undefined || api === "") return undefined;
  let href: string | undefined;
  if (typeof input === "string") href = input;
  else if (input instanceof URL) href = input.href;
  else if (typeof Request === "function" && input instanceof Request) href = input.url;
  if (href === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  const path = url.protocol === "https:" ? ROUTED_HOSTS[url.hostname] : undefined;
  return path === undefined ? undefined : `${api.replace(/\/+$/, "")}${path}`;
}

if (typeof originalFetch === "function") {
  const sluiceFetch = function fetch(input: Parameters<typeof originalFetch>[0], init?: Parameters<typeof originalFetch>[1]) {
    const target = routed(input);
    if (target === undefined) return originalFetch(input, init);
    // A Request carries its method, headers and body: a new one to the target keeps them.
    if (typeof Request === "function" && input instanceof Request) return originalFetch(new Request(target, input), init);
    return originalFetch(target, init);
  };
  Object.defineProperty(globalThis, "fetch", { value: sluiceFetch, writable: true, configurable: true, enumerable: true });
}

export {};
