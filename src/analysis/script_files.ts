import { chmod, chown, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModuleKind } from "./model.js";
import type { AnalysisWorkspace } from "./workspace.js";

/**
 * Where a script is laid out for its process: `<root>/<analysis id>/` holds `script.cjs` or
 * `script.mjs` and `version` (the stored code version it was written from). `<root>/node_modules`
 * is the SDK view (sdk_view.ts): Node resolves `require`/`import` of "@tago-io/sdk" by walking
 * up from the script, for CJS and ESM alike, and finds it there. No symlink: the permission
 * model checks paths as written, and `<link>/../..` would reach past the link's target.
 * Under a run-as user (workspace.ts) the directory and script belong to its group.
 */
export class ScriptFiles {
  private readonly root: string;
  readonly sdkModules: string;
  readonly runAs: AnalysisWorkspace["runAs"];
  private readonly prepareSdk: () => Promise<void>;

  constructor(workspace: Pick<AnalysisWorkspace, "root" | "sdkModules" | "runAs"> & Partial<Pick<AnalysisWorkspace, "prepareSdk">>) {
    this.root = workspace.root;
    this.sdkModules = workspace.sdkModules;
    this.runAs = workspace.runAs;
    this.prepareSdk = workspace.prepareSdk ?? (() => Promise.resolve());
  }

  dirOf(analysisId: string): string {
    return join(this.root, analysisId);
  }

  /** Per analysis, the prepare in progress: runs of one analysis starting together must not both rewrite its directory. */
  private readonly preparing = new Map<string, Promise<string>>();

  /** Writes the script when the directory holds another version (or none); returns its path. */
  prepare(analysisId: string, module: ModuleKind, version: number, code: () => Promise<Buffer | undefined>): Promise<string> {
    const previous = this.preparing.get(analysisId) ?? Promise.resolve("");
    const next = previous.catch(() => "").then(() => this.write(analysisId, module, version, code));
    this.preparing.set(analysisId, next);
    void next.catch(() => undefined).finally(() => {
      if (this.preparing.get(analysisId) === next) this.preparing.delete(analysisId);
    });
    return next;
  }

  private async write(analysisId: string, module: ModuleKind, version: number, code: () => Promise<Buffer | undefined>): Promise<string> {
    // The SDK view is built (or checked) at the first run, not at start.
    await this.prepareSdk();
    const dir = this.dirOf(analysisId);
    const file = join(dir, module === "esm" ? "script.mjs" : "script.cjs");
    const current = await readFile(join(dir, "version"), "utf8").catch(() => "");
    if (current !== `${version}:${module}`) {
      const source = await code();
      if (!source) throw new Error("the script is gone");
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (this.runAs) {
        await chown(dir, 0, this.runAs.gid);
        await chmod(dir, 0o750);
      }
      await rm(join(dir, module === "esm" ? "script.cjs" : "script.mjs"), { force: true });
      await writeFile(`${file}.tmp`, source, { mode: 0o640 });
      if (this.runAs) await chown(`${file}.tmp`, 0, this.runAs.gid);
      await rename(`${file}.tmp`, file);
      await writeFile(join(dir, "version"), `${version}:${module}`);
    }
    // Earlier versions linked node_modules here to Sluice's whole node_modules.
    await rm(join(dir, "node_modules"), { force: true, recursive: true });
    return file;
  }

  async remove(analysisId: string): Promise<void> {
    await rm(this.dirOf(analysisId), { recursive: true, force: true });
  }
}

/**
 * CJS or ESM: the file name's extension decides when it is explicit; a `.js` (or nameless)
 * script is ESM when it has top-level `import`/`export` statements, as TagoIO's examples are
 * written either way.
 */
export function moduleKindOf(fileName: string, source: string): ModuleKind {
  if (/\.mjs$/i.test(fileName)) return "esm";
  if (/\.cjs$/i.test(fileName)) return "cjs";
  return /^\s*(import\s+[\w*{"'$]|export\s+(default|const|let|var|function|async|class|\{|\*))/m.test(source) ? "esm" : "cjs";
}
