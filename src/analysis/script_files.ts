import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { ModuleKind } from "./model.js";

/**
 * Where a script is laid out for its process: `<root>/<analysis id>/` holds `script.cjs` or
 * `script.mjs`, `version` (the stored code version it was written from) and `node_modules`, a
 * link to the node_modules holding Sluice's `@tago-io/sdk`. The link sits inside the
 * analysis's own directory because the process may read only that directory and the SDK's:
 * Node resolves `require`/`import` of "@tago-io/sdk" by walking up from the script, for CJS
 * and ESM alike, and must be allowed to stat the link on the way.
 */
export class ScriptFiles {
  constructor(
    private readonly root: string,
    readonly sdkModules: string = sdkNodeModules(),
  ) {}

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
    const dir = this.dirOf(analysisId);
    const file = join(dir, module === "esm" ? "script.mjs" : "script.cjs");
    const current = await readFile(join(dir, "version"), "utf8").catch(() => "");
    if (current !== `${version}:${module}`) {
      const source = await code();
      if (!source) throw new Error("the script is gone");
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await rm(join(dir, module === "esm" ? "script.cjs" : "script.mjs"), { force: true });
      await writeFile(`${file}.tmp`, source);
      await rename(`${file}.tmp`, file);
      await writeFile(join(dir, "version"), `${version}:${module}`);
    }
    await this.linkSdk(dir);
    return file;
  }

  async remove(analysisId: string): Promise<void> {
    await rm(this.dirOf(analysisId), { recursive: true, force: true });
  }

  /** (Re)points the link: Sluice may have been reinstalled elsewhere since it was made. */
  private async linkSdk(dir: string): Promise<void> {
    const link = join(dir, "node_modules");
    if ((await readlink(link).catch(() => undefined)) === this.sdkModules) return;
    await rm(link, { force: true, recursive: true });
    await symlink(this.sdkModules, link, "dir");
  }
}

/** The node_modules directory the SDK (and its own dependencies, hoisted beside it) lives in. */
export function sdkNodeModules(): string {
  const pkg = createRequire(import.meta.url).resolve("@tago-io/sdk/package.json");
  return resolve(dirname(pkg), "..", "..");
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
