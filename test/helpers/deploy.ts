import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The path of a file in the repository's deploy/ (`nats.conf`, `systemd/sluice.service`), found
 * upward from this helper: the same from test/ (tsx) and from dist/test/ (compiled).
 */
export function deployFile(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const path = join(dir, "deploy", name);
    if (existsSync(path)) return path;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`deploy/${name} not found`);
    dir = parent;
  }
}
