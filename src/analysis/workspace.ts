import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SluiceError } from "../errors.js";
import { buildSdkView } from "./sdk_view.js";

/** The user and group analysis processes run as when Sluice runs as root. */
export interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Where analysis scripts and the SDK they load live, and as whom they run.
 *
 * Not root: `<data dir>/analyses/`, and analyses run as Sluice's own user; the permission
 * model and the preloaded guards are the boundary.
 *
 * Root: every analysis runs as `runAs` (default `nobody`, 65534:65534), so the kernel itself
 * keeps it from Sluice's files, memory (`/proc/<pid>/environ`, ptrace) and signals. That user
 * must read its script but never the data dir (mode 0700), so the workspace is a fresh
 * directory under the OS temporary directory, made per start (mkdtemp: nobody can have
 * planted it) with mode 0711 and removed at shutdown; each analysis's directory there is
 * 0750 root:<gid>. Scripts are copies of what SQLite holds, rewritten at the first run.
 */
export interface AnalysisWorkspace {
  root: string;
  /** The SDK and its dependencies, nothing else of Sluice's node_modules (sdk_view.ts). */
  sdkModules: string;
  runAs?: RunAs;
  dispose(): void;
}

export function openAnalysisWorkspace(dataDir: string, config: { runAsUid: number; runAsGid: number }): AnalysisWorkspace {
  const runAs = asRoot() ? { uid: config.runAsUid, gid: config.runAsGid } : undefined;
  if (runAs && (runAs.uid === 0 || runAs.gid === 0)) {
    throw new SluiceError("INVALID_CONFIG", "analysis.runAsUid and analysis.runAsGid must not be 0: analyses never run as root");
  }
  let root: string;
  if (runAs) {
    root = mkdtempSync(join(tmpdir(), "sluice-analyses-"));
    chmodSync(root, 0o711); // traversable, not listable: the analysis ids stay hidden
  } else {
    root = join(dataDir, "analyses");
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }
  const { nodeModules } = buildSdkView(root);
  return {
    root,
    sdkModules: nodeModules,
    ...(runAs && { runAs }),
    dispose() {
      if (runAs) rmSync(root, { recursive: true, force: true });
    },
  };
}

function asRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}
