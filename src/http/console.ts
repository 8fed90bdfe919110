/**
 * The web console (console/, built by `npm run build` into dist/console): `GET /` answers its
 * page, `GET /view` the public share view of a dashboard (`/view#<key>`: the key stays after
 * the `#`, so no request line or log ever holds it), and `/assets/*` their hashed, immutable
 * files. Nothing else: both route after `#`, so they never take a path from the API.
 */
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SHARE_VIEW_PATH } from "../dashboards/share_view.js";
import { SluiceError } from "../errors.js";

/** Where the build puts the console, seen from dist/src/http. */
export const CONSOLE_DIR = fileURLToPath(new URL("../../console/", import.meta.url));

/**
 * The pages load no script, style, font or data from another host and run no inline script;
 * styles may be inline because the code editor and the grid set them. Pictures may also come
 * from `imageSources` (config `http.consoleImageSources`, default `https:`: map tiles and image
 * widgets show what their owner configured; docs/security.md). `frameAncestors`: the console
 * may be framed by no site (clickjacking); the share view by the configured ones.
 */
export function consoleCsp(imageSources: readonly string[] = [], frameAncestors: readonly string[] = ["'none'"]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    ["img-src 'self' data: blob:", ...imageSources].join(" "),
    "connect-src 'self'",
    "font-src 'self'",
    `frame-ancestors ${frameAncestors.join(" ")}`,
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}

/** The console's policy with no other image host. */
export const CONSOLE_CSP = consoleCsp();

/** The console's own routes: pages and their files, not part of the API (kept out of its reference). */
export const isConsoleRoute = (url: string): boolean => url === "/" || url === SHARE_VIEW_PATH || url.startsWith("/assets/");

export interface ConsoleOptions {
  /** Image sources both pages allow besides this server (config `http.consoleImageSources`). */
  imageSources?: readonly string[];
  /** `frame-ancestors` sources of the share view (config `dashboards.shareFrameAncestors`); default any. */
  shareFrameAncestors?: readonly string[];
}

export function consoleRoutes(dir: string = CONSOLE_DIR, options: ConsoleOptions = {}): FastifyPluginAsync {
  const consolePolicy = consoleCsp(options.imageSources ?? []);
  const sharePolicy = consoleCsp(options.imageSources ?? [], options.shareFrameAncestors ?? ["*"]);
  return async (app) => {
    // Read once: the pages are small and change only with a new build (a restart).
    const read = (name: string) => (existsSync(`${dir}${name}`) ? readFileSync(`${dir}${name}`) : undefined);
    const page = (html: Buffer | undefined, csp: string) => async (_request: unknown, reply: FastifyReply) => {
      if (!html) throw new SluiceError("CONSOLE_NOT_BUILT", "The console is not built: run `npm run build`", 503);
      return reply
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("content-security-policy", csp)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .send(html);
    };
    app.get("/", { schema: { hide: true } }, page(read("index.html"), consolePolicy));
    app.get(SHARE_VIEW_PATH, { schema: { hide: true } }, page(read("share.html"), sharePolicy));
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
