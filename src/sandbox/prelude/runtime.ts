// Runs INSIDE the parser isolate: parser_globals.ts sends this function's source text there.
// It must stay self-contained (no imports, no references to anything outside its body).
import type { makeConsole, SandboxLogLine } from "./console.js";
import type { harden } from "./harden.js";
import type { makeTimeUtils, ZonedDayjs } from "./time_utils.js";

export interface RuntimeConfig {
  /** The file name parser scripts are compiled under; error lines are read from stack frames naming it. */
  filename: string;
  maxLogLines: number;
  maxLogLineChars: number;
  /** Longest output JSON, in UTF-16 units (a lower bound of its UTF-8 bytes; the host checks bytes). */
  maxOutputChars: number;
  /** The global the `buffer` package's script left `{ Buffer }` in (parser_globals.ts). */
  bufferModuleGlobal: string;
}

/** The part of the `buffer` package's Buffer the runtime itself uses (atob, btoa). */
interface BufferModule {
  Buffer: { from(value: string, encoding: string): { toString(encoding: string): string } };
}

export interface RuntimeParts {
  makeConsole: typeof makeConsole;
  makeTimeUtils: typeof makeTimeUtils;
  harden: typeof harden;
}

/** How a run left the context: its console lines, and whether the globals could be restored. */
export interface RunEnd {
  logs: SandboxLogLine[];
  clean: boolean;
}

/** What a run ends with, copied out of the isolate: plain strings, numbers and booleans only. */
export type SettleResult = RunEnd &
  ({ ok: true; json: string } | { ok: false; kind: "exception" | "invalid_output"; message: string; line?: number });

/** Functions the host calls; the parser never sees them. */
export interface RuntimeHooks {
  /**
   * One whole run, in one call into the isolate and under the run's time limit: fresh copies of
   * the inputs, the parser, `payload` serialized, the context restored.
   */
  settle(parser: () => unknown, payloadJson: string, deviceJson: string): SettleResult;
  /**
   * Several runs of one parser in one call, each exactly as `settle` would run it (fresh inputs,
   * its own outcome and console lines, the context restored after it), so one run's failure is
   * its own. `payloadsJson` and `devicesJson` are JSON arrays with one entry per run. It stops
   * early, with the outcomes so far, once `budgetMs` has passed (the host calls again for the
   * rest) or when a run left the context unclean (the host replaces the isolate first).
   */
  settleMany(parser: () => unknown, payloadsJson: string, devicesJson: string, budgetMs: number): SettleResult[];
  /** The outcomes of the last settleMany's finished runs, after that call was stopped from outside. */
  finished(): SettleResult[];
  /** Restores the context after a run that settle could not finish (time limit). */
  end(): RunEnd;
  /** An error message when `body` is not a function body on its own (it closes its wrapper). */
  checkBody(body: string): string | undefined;
}

/**
 * Installs the parser globals (`dayjs` and the `buffer` package are already there, put by their
 * own scripts), hardens the context, and returns the hooks the host drives runs with.
 * Everything captured here (JSON.parse, Reflect...) is captured before any parser runs, and the
 * hardening makes the originals unchangeable anyway.
 */
export function installRuntime(config: RuntimeConfig, parts: RuntimeParts): RuntimeHooks {
  const global = globalThis as unknown as Record<PropertyKey, unknown>;
  const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf, isExtensible } = Object;
  const { ownKeys, deleteProperty, apply } = Reflect;
  const parseJson = JSON.parse;
  const toJson = JSON.stringify;
  const lineOf = new RegExp(`${config.filename.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):\\d+`);
  const FunctionConstructor = Function;
  const now = Date.now;

  // Nothing a parser needs, and each a way around the limits or the per-run isolation: finalizer
  // callbacks fire whenever GC runs (in a later run), Atomics.wait may outlast the time limit,
  // WebAssembly memory is allocated outside the heap limit.
  for (const name of ["FinalizationRegistry", "WeakRef", "SharedArrayBuffer", "Atomics", "WebAssembly"]) delete global[name];

  // Indirect eval of `let x` declares x in the global lexical scope, which cannot be deleted
  // and would reach the next run. The replacement evaluates in a function scope (sloppy, so
  // `var` stays in that scope too); the code still sees and assigns globals like `payload`, but
  // not the caller's local variables, which a direct eval would.
  const globalEval = global.eval;
  const scopedEval = new FunctionConstructor("eval", "code", "return eval(code);") as (realEval: unknown, code: unknown) => unknown;
  defineProperty(global, "eval", {
    value: function evaluate(code: unknown) {
      return scopedEval(globalEval, code);
    },
    writable: true,
    enumerable: false,
    configurable: true,
  });

  const dayjs = global.dayjs as ZonedDayjs & { locale(name: string): unknown; tz: { setDefault(timezone?: string): void } };
  delete global.dayjs_plugin_utc;
  delete global.dayjs_plugin_timezone;
  const setLocale = dayjs.locale;
  const setDefaultTimezone = dayjs.tz.setDefault;

  const { console, take } = parts.makeConsole({ maxLines: config.maxLogLines, maxLineChars: config.maxLogLineChars });
  const timeUtils = parts.makeTimeUtils(dayjs);
  const { Buffer } = global[config.bufferModuleGlobal] as BufferModule;
  delete global[config.bufferModuleGlobal];

  // A bare isolate has no atob/btoa (they are not ECMAScript): these are the package's codecs.
  // atob decodes leniently, as Buffer does (Node's atob throws on characters outside base64).
  function atob(text: unknown): string {
    return Buffer.from(String(text), "base64").toString("latin1");
  }
  function btoa(text: unknown): string {
    const source = String(text);
    for (let i = 0; i < source.length; i++) {
      if (source.charCodeAt(i) > 0xff) {
        // Node throws a DOMException by this name; a bare isolate has no DOMException.
        const error = new Error("Invalid character");
        error.name = "InvalidCharacterError";
        throw error;
      }
    }
    return Buffer.from(source, "latin1").toString("base64");
  }

  function describeError(error: unknown): { message: string; line?: number } {
    try {
      if (error instanceof Error) {
        const stack = typeof error.stack === "string" ? error.stack : "";
        const match = lineOf.exec(stack);
        const message = `${String(error.name)}: ${String(error.message)}`;
        return match ? { message, line: Number(match[1]) } : { message };
      }
      return { message: `Uncaught ${typeof error === "string" ? error : (toJson(error) ?? String(error))}` };
    } catch {
      return { message: "Uncaught error (its message could not be read)" };
    }
  }

  function typeName(value: unknown): string {
    return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  }

  const constant = (value: unknown) => ({ value, writable: false, enumerable: false, configurable: false });
  defineProperty(global, "console", constant(console));
  defineProperty(global, "timeUtils", constant(timeUtils));
  defineProperty(global, "Buffer", constant(Buffer));
  defineProperty(global, "atob", constant(atob));
  defineProperty(global, "btoa", constant(btoa));

  parts.harden(global);
  for (const key of ownKeys(global)) {
    const property = getOwnPropertyDescriptor(global, key)!;
    defineProperty(global, key, "value" in property ? { writable: false, configurable: false } : { configurable: false });
  }
  // The per-run globals stay defined for good (assignable, never deleted): replacing the
  // property itself every run would invalidate V8's global property cells, and with them the
  // optimized code of every parser that reads `payload`.
  const INPUTS = ["payload", "raw_payload", "device"] as const;
  for (const name of INPUTS) defineProperty(global, name, { value: undefined, writable: true, enumerable: true, configurable: false });
  const baseline = new Set(ownKeys(global));
  const globalPrototype: unknown = getPrototypeOf(global);

  /** Console lines out; the run's own globals deleted; inputs released. */
  function end(): RunEnd {
    let clean = true;
    for (const key of ownKeys(global)) {
      if (!baseline.has(key) && !deleteProperty(global, key)) clean = false;
    }
    for (const name of INPUTS) {
      const property = getOwnPropertyDescriptor(global, name);
      if (property?.writable) global[name] = undefined;
      else clean = false;
    }
    // A parser could pin a global (non-configurable), make an input read-only, or re-parent the
    // global object; none can be undone, so the host then throws this context away.
    if (!isExtensible(global) || getPrototypeOf(global) !== globalPrototype) clean = false;
    // RegExp.$1, RegExp.lastMatch... keep the last match of the run; a blank match clears them.
    /(?:)/.exec("");
    return { logs: take(), clean };
  }

  function run(parser: () => unknown): { ok: true; json: string } | { ok: false; kind: "exception" | "invalid_output"; message: string; line?: number } {
    try {
      apply(parser, undefined, []);
    } catch (error) {
      return { ok: false, kind: "exception", ...describeError(error) };
    }
    const output = global.payload;
    if (typeof output !== "object" || output === null) {
      return { ok: false, kind: "invalid_output", message: `payload must be an array of records at the end of the parser, but it is ${typeName(output)}` };
    }
    let json: string | undefined;
    try {
      json = toJson(output);
    } catch (error) {
      return { ok: false, kind: "invalid_output", message: `payload cannot be serialized as JSON: ${describeError(error).message}` };
    }
    if (typeof json !== "string" || (json[0] !== "[" && json[0] !== "{")) {
      return { ok: false, kind: "invalid_output", message: "payload must serialize to a JSON array or object" };
    }
    if (json.length > config.maxOutputChars) {
      return { ok: false, kind: "invalid_output", message: `payload is larger than ${config.maxOutputChars} bytes as JSON` };
    }
    return { ok: true, json };
  }

  /** One run on inputs parsed for it alone: nothing is shared with another run or the host. */
  function settleOne(parser: () => unknown, payload: unknown, rawPayload: unknown, device: unknown): SettleResult {
    // The only mutable state dayjs keeps outside its frozen objects.
    setLocale("en");
    setDefaultTimezone();
    global.payload = payload;
    global.raw_payload = rawPayload;
    global.device = device;
    const outcome = run(parser);
    return { ...outcome, ...end() };
  }

  // The runs a settleMany has finished, kept here so that a call stopped at its time limit
  // still tells the host which runs completed and which one was running.
  let finishedRuns: SettleResult[] = [];

  return {
    settle(parser, payloadJson, deviceJson) {
      // Parsed twice: payload and raw_payload share nothing, with each other or with the host.
      return settleOne(parser, parseJson(payloadJson), parseJson(payloadJson), parseJson(deviceJson));
    },

    settleMany(parser, payloadsJson, devicesJson, budgetMs) {
      const started = now();
      // Each text parsed as a whole is still a fresh object per entry: payload and raw_payload
      // (two parses) and every run's device share nothing. Each run reads only its own entries.
      const payloads = parseJson(payloadsJson) as unknown[];
      const rawPayloads = parseJson(payloadsJson) as unknown[];
      const devices = parseJson(devicesJson) as unknown[];
      const results: SettleResult[] = [];
      finishedRuns = results;
      for (let i = 0; i < payloads.length; i++) {
        const result = settleOne(parser, payloads[i], rawPayloads[i], devices[i]);
        results.push(result);
        payloads[i] = rawPayloads[i] = devices[i] = undefined;
        if (!result.clean || now() - started >= budgetMs) break;
      }
      finishedRuns = [];
      return results;
    },

    finished() {
      const results = finishedRuns;
      finishedRuns = [];
      return results;
    },

    end,

    checkBody(body) {
      try {
        new FunctionConstructor(body);
        return undefined;
      } catch (error) {
        return describeError(error).message;
      }
    },
  };
}
