import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * What an analysis can load: `@tago-io/sdk` and the packages it depends on (dependencies and
 * optional ones, recursively), not the rest of Sluice's node_modules (`ws`, `better-sqlite3`,
 * `mqtt`...). They are copied, not linked, into `<root>/node_modules`: Node's permission model
 * checks paths as written, so a symlink inside a readable directory would let
 * `<link>/../..` read whatever lies beside its target.
 */
export interface SdkView {
  /** The `node_modules` directory to allow reading; scripts in `<root>/<id>/` resolve packages from it. */
  nodeModules: string;
  /** Package name → the directory it was copied from. */
  packages: Map<string, string>;
}

/** The SDK's dependency closure, as Node would resolve it from each package's real directory. */
export function sdkClosure(sdkDir: string = sdkPackageDir()): Map<string, string> {
  const found = new Map<string, string>([["@tago-io/sdk", sdkDir]]);
  const pending = [sdkDir];
  const seen = new Set<string>([sdkDir]);
  while (pending.length > 0) {
    const dir = pending.shift()!;
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies })) {
      const target = resolvePackage(dir, name);
      if (target === undefined) continue; // an optional dependency that is not installed
      // The first (shallowest) copy of a name is the one a script sees; a nested one of
      // another version travels inside its dependent's own node_modules.
      if (!found.has(name) && !target.startsWith(`${dir}/node_modules/`)) found.set(name, target);
      if (!seen.has(target)) {
        seen.add(target);
        pending.push(target);
      }
    }
  }
  return found;
}

/**
 * Builds `<root>/node_modules` afresh (in a side directory, then renamed in place), so a
 * Sluice upgraded since the last start never leaves a script an older SDK.
 */
export function buildSdkView(root: string, packages: Map<string, string> = sdkClosure()): SdkView {
  const target = join(root, "node_modules");
  const building = join(root, `node_modules.${process.pid}.tmp`);
  rmSync(building, { recursive: true, force: true });
  for (const [name, from] of packages) {
    const to = join(building, name);
    mkdirSync(dirname(to), { recursive: true, mode: 0o755 });
    // Nested node_modules (a dependency's own pinned versions) come along; links are followed.
    cpSync(from, to, { recursive: true, dereference: true, filter: (source) => !source.endsWith("/node_modules/.bin") });
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(building, target);
  return { nodeModules: target, packages };
}

/** Node's lookup: `<dir>/node_modules/<name>`, then each parent's. */
function resolvePackage(fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

function sdkPackageDir(): string {
  return dirname(createRequire(import.meta.url).resolve("@tago-io/sdk/package.json"));
}
