// Runs INSIDE the parser isolate: parser_globals.ts sends this function's source text there.
// It must stay self-contained (no imports, no references to anything outside its body).
import type { makeBuffer } from "./buffer.js";
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
}

export interface RuntimeParts {
  makeConsole: typeof makeConsole;
  makeTimeUtils: typeof makeTimeUtils;
  makeBuffer: typeof makeBuffer;
  harden: typeof harden;
}

/** What a run ends with, copied out of the isolate: plain strings and numbers only. */
export type SettleResult =
  | { ok: true; json: string }
  | { ok: false; kind: "exception" | "invalid_output"; message: string; line?: number };

/** Functions the host calls between runs; the parser never sees them. */
export interface RuntimeHooks {
  begin(payloadJson: string, deviceJson: string): void;
  /** Runs the parser function and reads `payload` back, all inside the run's time limit. */
  settle(parser: () => unknown): SettleResult;
  /** Drains the console and removes what the run left on the global object. */
  end(): { logs: SandboxLogLine[]; clean: boolean };
  /** An error message when `body` is not a function body on its own (it closes its wrapper). */
  checkBody(body: string): string | undefined;
}

/**
 * Installs the parser globals (`dayjs` is already there, put by its own scripts), hardens the
 * context, and returns the hooks the host drives each run with: begin → settle(parser) → end.
 * Everything captured here (JSON.parse, Reflect...) is captured before any parser runs, and
 * the hardening makes the originals unchangeable anyway.
 */
export function installRuntime(config: RuntimeConfig, parts: RuntimeParts): RuntimeHooks {
  const global = globalThis as unknown as Record<PropertyKey, unknown>;
  const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf, isExtensible } = Object;
  const { ownKeys, deleteProperty, apply } = Reflect;
  const parseJson = JSON.parse;
  const toJson = JSON.stringify;
  const lineOf = new RegExp(`${config.filename.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):\\d+`);
  const FunctionConstructor = Function;

  const dayjs = global.dayjs as ZonedDayjs & { locale(name: string): unknown; tz: { setDefault(timezone?: string): void } };
  delete global.dayjs_plugin_utc;
  delete global.dayjs_plugin_timezone;
  const setLocale = dayjs.locale;
  const setDefaultTimezone = dayjs.tz.setDefault;

  const { console, take } = parts.makeConsole({ maxLines: config.maxLogLines, maxLineChars: config.maxLogLineChars });
  const timeUtils = parts.makeTimeUtils(dayjs);
  const { Buffer, atob, btoa } = parts.makeBuffer();

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

  function settle(parser: () => unknown): SettleResult {
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
  const baseline = new Set(ownKeys(global));
  const globalPrototype: unknown = getPrototypeOf(global);
  const writable = (value: unknown) => ({ value, writable: true, enumerable: true, configurable: true });

  return {
    settle,

    begin(payloadJson, deviceJson) {
      // The only mutable state dayjs keeps outside its frozen objects.
      setLocale("en");
      setDefaultTimezone();
      defineProperty(global, "payload", writable(parseJson(payloadJson)));
      defineProperty(global, "raw_payload", writable(parseJson(payloadJson)));
      defineProperty(global, "device", writable(parseJson(deviceJson)));
    },

    end() {
      let clean = true;
      for (const key of ownKeys(global)) {
        if (!baseline.has(key) && !deleteProperty(global, key)) clean = false;
      }
      // A parser could pin a global (non-configurable) or re-parent the global object; neither
      // can be undone, so the host then throws this context away.
      if (!isExtensible(global) || getPrototypeOf(global) !== globalPrototype) clean = false;
      // RegExp.$1, RegExp.lastMatch... keep the last match of the run; a blank match clears them.
      /(?:)/.exec("");
      return { logs: take(), clean };
    },

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
