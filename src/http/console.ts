/**
 * The web console (console/, built by `npm run build` into dist/console): `GET /` answers its
 * page and `/assets/*` its hashed, immutable files. Nothing else: the console routes after `#`,
 * so it never takes a path from the API.
 */
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SluiceError } from "../errors.js";

/** Where the build puts the console, seen from dist/src/http. */
export const CONSOLE_DIR = fileURLToPath(new URL("../../console/", import.meta.url));

/**
 * The console runs no inline script and no script from another host; styles may be inline
 * because the code editor sets them. Images may also come from `imageSources` (config
 * `http.consoleImageSources`: map tiles, image widgets). No site may frame the console (clickjacking).
 */
export function consoleCsp(imageSources: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    ["img-src 'self' data: blob:", ...imageSources].join(" "),
    "connect-src 'self'",
    "font-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}

/** The policy with no other image host. */
export const CONSOLE_CSP = consoleCsp();

/** The console's own routes: a page and its files, not part of the API (kept out of its reference). */
export const isConsoleRoute = (url: string): boolean => url === "/" || url.startsWith("/assets/");

export function consoleRoutes(dir: string = CONSOLE_DIR, imageSources: readonly string[] = []): FastifyPluginAsync {
  const csp = consoleCsp(imageSources);
  return async (app) => {
    const indexPath = `${dir}index.html`;
    // Read once: the page is small and changes only with a new build (a restart).
    const index = existsSync(indexPath) ? readFileSync(indexPath) : undefined;
    app.get("/", { schema: { hide: true } }, async (_request, reply) => {
      if (!index) throw new SluiceError("CONSOLE_NOT_BUILT", "The console is not built: run `npm run build`", 503);
      return reply
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("content-security-policy", csp)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .send(index);
    });
    if (existsSync(`${dir}assets`)) {
      await app.register(fastifyStatic, {
        root: `${dir}assets`,
        prefix: "/assets/",
        // File names carry a content hash: a name never changes meaning, so caches keep it.
        immutable: true,
        maxAge: "365d",
        index: false,
        dotfiles: "deny",
      });
    }
  };
}
