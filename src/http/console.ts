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
 * styles may be inline because the code editor and the grid set them. Pictures may come from
 * any https URL: the image and map widgets show what their owner configured (pictures, map
 * tiles), and an image reads nothing of the page (docs/security.md). `frame-ancestors`: the
 * console may be framed by no site (clickjacking); the share view by the configured ones.
 */
export function pageCsp(frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https:",
    "connect-src 'self'",
    "font-src 'self'",
    `frame-ancestors ${frameAncestors}`,
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}

export const CONSOLE_CSP = pageCsp("'none'");


/** The console's own routes: pages and their files, not part of the API (kept out of its reference). */
export const isConsoleRoute = (url: string): boolean => url === "/" || url === SHARE_VIEW_PATH || url.startsWith("/assets/");

export interface ConsoleOptions {
  /** `frame-ancestors` sources of the share view (config `dashboards.shareFrameAncestors`). */
  shareFrameAncestors?: readonly string[];
}

export function consoleRoutes(dir: string = CONSOLE_DIR, options: ConsoleOptions = {}): FastifyPluginAsync {
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
    app.get("/", { schema: { hide: true } }, page(read("index.html"), CONSOLE_CSP));
    app.get(SHARE_VIEW_PATH, { schema: { hide: true } }, page(read("share.html"), pageCsp((options.shareFrameAncestors ?? ["*"]).join(" "))));
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
