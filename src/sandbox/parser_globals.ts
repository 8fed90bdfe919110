import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { makeConsole } from "./prelude/console.js";
import { harden } from "./prelude/harden.js";
import { installRuntime, type RuntimeConfig } from "./prelude/runtime.js";
import { makeTimeUtils } from "./prelude/time_utils.js";

/**
 * The source text evaluated in every parser isolate before any parser runs: dayjs with its
 * utc and timezone plugins (their own files, which define globals when no module system is
 * around), the `buffer` package (Node's Buffer for browsers, in a small CommonJS loader), then
 * the prelude that adds the other globals and hardens the context.
 *
 * The prelude is written as ordinary TypeScript functions under prelude/, type-checked with the
 * rest, and shipped into the isolate as their compiled source text (`fn.toString()`).
 */

export interface IsolateSource {
  filename: string;
  code: string;
}

/** The file name parsers compile under: stack frames name it, error lines are read from it. */
export const PARSER_FILENAME = "parser.js";

let dayjsSources: IsolateSource[] | undefined;

/** dayjs and its plugins as installed in node_modules (read once per process). */
export function dayjsScripts(): IsolateSource[] {
  if (!dayjsSources) {
    const require = createRequire(import.meta.url);
    const read = (id: string): IsolateSource => ({ filename: id, code: readFileSync(require.resolve(id), "utf8") });
    dayjsSources = [
      read("dayjs/dayjs.min.js"),
      read("dayjs/plugin/utc.js"),
      read("dayjs/plugin/timezone.js"),
      { filename: "dayjs-plugins.js", code: "dayjs.extend(dayjs_plugin_utc); dayjs.extend(dayjs_plugin_timezone);" },
    ];
  }
  return dayjsSources;
}

/** The global the buffer script leaves `{ Buffer }` in; the runtime takes it and deletes it. */
export const BUFFER_MODULE_GLOBAL = "__sluiceBufferModule";

let bufferSource: IsolateSource | undefined;

/**
 * The `buffer` package and its two dependencies as installed in node_modules (read once per
 * process), each module's source wrapped as a CommonJS function body, with a `require` that
 * knows only these three. Leaves the package's exports in `globalThis.__sluiceBufferModule`.
 */
export function bufferScript(): IsolateSource {
  if (!bufferSource) {
    const require = createRequire(import.meta.url);
    const modules = ["base64-js", "ieee754", "buffer"]
      .map((id) => `${JSON.stringify(id)}: function (module, exports, require) {\n${readFileSync(require.resolve(`${id}/index.js`), "utf8")}\n}`)
      .join(",\n");
    const code = `(function () {
const modules = {
${modules}
};
const loaded = Object.create(null);
function load(id) {
  if (!Object.prototype.hasOwnProperty.call(modules, id)) throw new Error("Cannot find module '" + id + "'");
  if (!loaded[id]) {
    const module = { exports: {} };
    loaded[id] = module;
    modules[id].call(module.exports, module, module.exports, load);
  }
  return loaded[id].exports;
}
globalThis.${BUFFER_MODULE_GLOBAL} = { Buffer: load("buffer").Buffer };
})();`;
    bufferSource = { filename: "sluice-buffer.js", code };
  }
  return bufferSource;
}

export interface PreludeOptions {
  maxLogLines: number;
  maxLogLineChars: number;
  maxOutputBytes: number;
}

/** The prelude script; its completion value is the runtime's hooks object. */
export function preludeScript(options: PreludeOptions): IsolateSource {
  const config: RuntimeConfig = {
    filename: PARSER_FILENAME,
    maxLogLines: options.maxLogLines,
    maxLogLineChars: options.maxLogLineChars,
    maxOutputChars: options.maxOutputBytes,
    bufferModuleGlobal: BUFFER_MODULE_GLOBAL,
  };
  const code = `(function () {
"use strict";
const parts = {
  makeConsole: ${makeConsole.toString()},
  makeTimeUtils: ${makeTimeUtils.toString()},
  harden: ${harden.toString()},
};
return (${installRuntime.toString()})(${JSON.stringify(config)}, parts);
})();`;
  return { filename: "sluice-prelude.js", code };
}

/**
 * A parser script as it is compiled: TagoIO runs parsers as the body of a function, so a
 * top-level `return` ends one early. The body starts on line 2; the compile uses a line offset
 * of -1 so that lines in errors are the script's own.
 *
 * The script evaluates to the parser function, once per isolate; every message then calls that
 * same function. Creating it afresh per message would throw away V8's inline caches and
 * optimized code with it each time (measured: a typical parser costs twice as much). An arrow
 * function has no `arguments.callee` and no `prototype`, and it is frozen, so the one object
 * that outlives a run cannot carry anything from one run to the next.
 */
export function wrapParser(body: string): string {
  return `Object.freeze(() => {\n${body}\n});`;
}
