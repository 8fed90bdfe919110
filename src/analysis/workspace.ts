import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SluiceError } from "../errors.js";
import { ensureSdkView, sdkClosure, sdkKey } from "./sdk_view.js";

/** The user and group analysis processes run as when Sluice runs as root. */
export interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Where analysis scripts and the SDK they load live, and as whom they run.
 *
 * Not root: `<data dir>/analyses/`, and analyses run as Sluice's own user; the permission
 * model and the preloaded guards are the boundary. The SDK view is `<data dir>/analyses/node_modules`,
 * kept across starts and rebuilt only when the SDK closure's versions change (sdk_view.ts).
 *
 * Root: every analysis runs as `runAs` (default `nobody`, 65534:65534), so the kernel itself
 * keeps it from Sluice's files, memory (`/proc/<pid>/environ`, ptrace) and signals. That user
 * must read its script but never the data dir (mode 0700), so the workspace lives under the OS
 * temporary directory, in a cache directory of Sluice's user:
 * `<tmp>/sluice-analysis-cache-<uid>/` (0711, owned by that uid, checked at each start: a
 * directory someone else made or could write is not used) holds one `sdk-<key>/` per SDK
 * closure (`<key>` hashes its packages' names, versions and paths), with the SDK view in
 * `sdk-<key>/node_modules` (built once, shared by every start and every Sluice of that user on
 * the host), and each start's own root `sdk-<key>/run-<pid>-XXXXXX` (mkdtemp: nobody can have
 * planted it; 0711, traversable, not listable) below it, removed at shutdown. A script in
 * `<root>/<id>/` resolves "@tago-io/sdk" by walking up to `sdk-<key>/node_modules`. If the
 * cache directory cannot be trusted, the root is a fresh `<tmp>/sluice-analyses-<pid>-XXXXXX`
 * with its own SDK view. Each analysis's directory is 0750 root:<gid>; scripts are copies of
 * what SQLite holds, rewritten at the first run.
 *
 * Nothing is copied at start: the SDK view is built (or checked) at the first run, without
 * blocking the event loop (`prepareSdk`). At start, the workspaces of Sluices that are no
 * longer running (by the pid in their name) are removed, in the background.
 */
export interface AnalysisWorkspace {
  root: string;
  /** The SDK and its dependencies, nothing else of Sluice's node_modules (sdk_view.ts); exists once `prepareSdk` resolved. */
  sdkModules: string;
  runAs?: RunAs;
  /** Builds or checks the SDK view, once; every call shares the first one's outcome (a failure is retried). */
  prepareSdk(): Promise<void>;
  dispose(): void;
}

const CACHE_PREFIX = "sluice-analysis-cache-";
const FALLBACK_PREFIX = "sluice-analyses-";

export function openAnalysisWorkspace(dataDir: string, config: { runAsUid: number; runAsGid: number }): AnalysisWorkspace {
  const runAs = asRoot() ? { uid: config.runAsUid, gid: config.runAsGid } : undefined;
  if (runAs && (runAs.uid === 0 || runAs.gid === 0)) {
    throw new SluiceError("INVALID_CONFIG", "analysis.runAsUid and analysis.runAsGid must not be 0: analyses never run as root");
  }
  const packages = sdkClosure();
  let root: string;
  let sdkHome: string; // the directory whose node_modules is the SDK view
  if (runAs) {
    removeStaleWorkspaces();
    const cache = trustedDir(join(tmpdir(), `${CACHE_PREFIX}${process.getuid!()}`));
    const keyed = cache && trustedDir(join(cache, `sdk-${sdkKey(packages)}`));
    if (keyed) {
      sdkHome = keyed;
      root = mkdtempSync(join(keyed, `run-${process.pid}-`));
    } else {
      root = mkdtempSync(join(tmpdir(), `${FALLBACK_PREFIX}${process.pid}-`));
      sdkHome = root;
    }
    chmodSync(root, 0o711); // traversable, not listable: the analysis ids stay hidden
  } else {
    root = join(dataDir, "analyses");
    mkdirSync(root, { recursive: true, mode: 0o700 });
    sdkHome = root;
  }
  let building: Promise<void> | undefined;
  return {
    root,
    sdkModules: join(sdkHome, "node_modules"),
    ...(runAs && { runAs }),
    prepareSdk() {
      building ??= ensureSdkView(sdkHome, packages).then(
        () => undefined,
        (err: unknown) => {
          building = undefined;
          throw err;
        },
      );
      return building;
    },
    dispose() {
      if (runAs) rmSync(root, { recursive: true, force: true });
    },
  };
}

function asRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** `dir`, made if missing (0711), when it is a real directory of this user that nobody else may write; else undefined. */
function trustedDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") return undefined;
  }
  try {
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== process.getuid!() || (stat.mode & 0o022) !== 0) return undefined;
    if ((stat.mode & 0o711) !== 0o711) chmodSync(dir, (stat.mode & 0o755) | 0o711);
    return dir;
  } catch {
    return undefined;
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Workspaces of Sluices that are gone (killed before their shutdown removed them): the per-start
 * roots in the cache (`run-<pid>-*`) and the fallback roots (`<tmp>/sluice-analyses-<pid>-*`), by
 * the pid in their name; only this user's. Removed in the background. A pid reused since keeps
 * its directory until a later start: never is a live Sluice's workspace removed.
 */
function removeStaleWorkspaces(): void {
  const uid = process.getuid!();
  const stale: string[] = [];
  const consider = (dir: string, name: string, prefix: string) => {
    if (!name.startsWith(prefix)) return;
    const parts = name.slice(prefix.length).split("-"); // <pid>-<mkdtemp's six characters>
    if (parts.length !== 2) return;
    const pid = Number(parts[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) return;
    try {
      const stat = lstatSync(join(dir, name));
      if (stat.isDirectory() && stat.uid === uid) stale.push(join(dir, name));
    } catch {
      // gone meanwhile
    }
  };
  try {
    for (const name of readdirSync(tmpdir())) {
      consider(tmpdir(), name, FALLBACK_PREFIX);
      if (name === `${CACHE_PREFIX}${uid}`) {
        const cache = join(tmpdir(), name);
        for (const keyed of safeReaddir(cache)) {
          if (!keyed.startsWith("sdk-")) continue;
          for (const run of safeReaddir(join(cache, keyed))) consider(join(cache, keyed), run, "run-");
        }
      }
    }
  } catch {
    return;
  }
  for (const dir of stale) void rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
