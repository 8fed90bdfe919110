import type { FastifyPluginAsync } from "fastify";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MqttListenersJson, StatusJson } from "../api_types.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";

/**
 * Liveness probe that also says which Sluice answers and where devices connect (the MQTT
 * listeners' ports, which anyone can find by trying them anyway); no auth, no per-account data.
 * The console's "how to connect" reads the ports here.
 */
export function statusRoutes(deps: { mqttListeners?: () => MqttListenersJson | undefined } = {}): FastifyPluginAsync {
  const version = packageVersion();
  return async (app) => {
    documentRoutes(app, { tag: TAGS.server.name });
    app.get("/status", async () => {
      const mqtt = deps.mqttListeners?.();
      const result: StatusJson = { name: "sluice", version, ...(mqtt && { mqtt }) };
      return ok(result);
    });
  };
}

/**
 * Sluice's version from its package.json, found by walking up from this file: the compiled
 * file sits at a different depth (dist/src/...) than the source, so no fixed relative path fits.
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "sluice" && typeof pkg.version === "string") return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}
