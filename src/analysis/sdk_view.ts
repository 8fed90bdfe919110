import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { cp, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
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

/** Bumped when the view's layout changes, so that a cached view of the old layout is not reused. */
const VIEW_FORMAT = 1;
const STAMP = ".sluice-sdk-view";

/** What a view is built from: each package's name, version and directory. */
function manifest(packages: Map<string, string>): string {
  const entries = [...packages].map(([name, dir]) => `${name}@${packageVersion(dir)} ${dir}`).sort();
  return JSON.stringify({ format: VIEW_FORMAT, node: process.versions.node, entries });
}

/** A short key naming the SDK closure (versions and paths of its packages). */
export function sdkKey(packages: Map<string, string> = sdkClosure()): string {
  return createHash("sha256").update(manifest(packages)).digest("hex").slice(0, 16);
}

function packageVersion(dir: string): string {
  try {
    return String((JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: unknown }).version);
  } catch {
    return "?";
  }
}

/**
 * Makes `<home>/node_modules` the SDK view of `packages`, asynchronously (the copy goes through
 * libuv's thread pool, never blocking the event loop). A view already there is kept when its
 * stamp names the same closure and each package's package.json in it has the version the stamp
 * says; otherwise a new one is built beside it and renamed in place. Several Sluices may race
 * to build one: the first rename wins and the others check the winner's.
 */
export async function ensureSdkView(home: string, packages: Map<string, string> = sdkClosure()): Promise<string> {
  const target = join(home, "node_modules");
  const wanted = manifest(packages);
  if (await viewMatches(target, packages, wanted)) return target;
  const building = join(home, `node_modules.${process.pid}.${Date.now()}.tmp`);
  await rm(building, { recursive: true, force: true });
  try {
    await mkdir(building, { mode: 0o755 });
    for (const [name, from] of packages) {
      const to = join(building, name);
      await mkdir(dirname(to), { recursive: true, mode: 0o755 });
      await cp(from, to, { recursive: true, dereference: true, filter: (source) => !source.endsWith("/node_modules/.bin") });
    }
    await writeFile(join(building, STAMP), wanted, { mode: 0o644 });
    if (existsSync(target)) {
      // A view of another closure (or a broken one): set aside, then removed.
      const old = join(home, `node_modules.${process.pid}.${Date.now()}.old`);
      await rename(target, old).catch(() => undefined);
      void rm(old, { recursive: true, force: true }).catch(() => undefined);
    }
    try {
      await rename(building, target);
    } catch (err) {
      // Another Sluice put its view in place first.
      if (!(await viewMatches(target, packages, wanted))) throw err;
    }
  } finally {
    await rm(building, { recursive: true, force: true }).catch(() => undefined);
  }
  return target;
}

async function viewMatches(target: string, packages: Map<string, string>, wanted: string): Promise<boolean> {
  const stamp = await readFile(join(target, STAMP), "utf8").catch(() => undefined);
  if (stamp !== wanted) return false;
  for (const [name, from] of packages) {
    const copied = await readFile(join(target, name, "package.json"), "utf8").catch(() => undefined);
    if (copied === undefined) return false;
    try {
      if ((JSON.parse(copied) as { version?: unknown }).version !== (JSON.parse(readFileSync(join(from, "package.json"), "utf8")) as { version?: unknown }).version) return false;
    } catch {
      return false;
    }
  }
  return true;
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
