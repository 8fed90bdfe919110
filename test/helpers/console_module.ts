/**
 * Loads a console module (console/src/...) in Node for a unit test. The console is compiled by
 * Vite, not by the server's tsc (whose output under dist/console the console build replaces),
 * so the test transpiles the module and the relative modules it imports with TypeScript into a
 * temporary folder and imports it from there. Only modules free of browser APIs at load time
 * can be loaded this way; type-only imports vanish in transpiling.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const CONSOLE_SRC = resolve(process.cwd(), "console", "src");
let outDir: string | undefined;
const written = new Set<string>();

function transpile(file: string): void {
  if (written.has(file)) return;
  written.add(file);
  const source = readFileSync(file, "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, jsx: ts.JsxEmit.ReactJSX, jsxImportSource: "preact", verbatimModuleSyntax: false },
    fileName: file,
  });
  const out = join(outDir!, relative(CONSOLE_SRC, file)).replace(/\.tsx?$/, ".js");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, outputText);
  // Follow the relative imports that survived transpiling (runtime ones).
  for (const { fileName } of ts.preProcessFile(outputText).importedFiles) {
    if (!fileName.startsWith(".")) continue;
    const base = resolve(dirname(file), fileName.replace(/\.js$/, ""));
    const found = [".ts", ".tsx"].map((ext) => base + ext).find((candidate) => {
      try {
        readFileSync(candidate);
        return true;
      } catch {
        return false;
      }
    });
    if (found) transpile(found);
  }
}

/** The module at `path` (relative to console/src, e.g. "lib/csv.ts"). */
export async function loadConsoleModule<T>(path: string): Promise<T> {
  outDir ??= mkdtempSync(join(tmpdir(), "sluice-console-module-"));
  const file = resolve(CONSOLE_SRC, path);
  transpile(file);
  return (await import(pathToFileURL(join(outDir, path.replace(/\.tsx?$/, ".js"))).href)) as T;
}
