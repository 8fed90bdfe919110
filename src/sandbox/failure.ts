import { SluiceError } from "../errors.js";
import { ParserError, type ParserLimits, type ParserLogLine } from "./types.js";

/** Raised to runs that were in flight, or started, after the sandbox was closed. */
export const sandboxClosed = () => new SluiceError("SANDBOX_CLOSED", "The parser sandbox is shut down", 503);

// isolated-vm reports its own stops with these messages (5.0.x): a run past its `timeout`,
// and an isolate it disposed because the heap reached `memoryLimit`.
const TIMED_OUT = "Script execution timed out.";
const MEMORY = /memory limit/i;

/** Whether isolated-vm stopped a call at its `timeout`. */
export function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === TIMED_OUT;
}

/**
 * What an error thrown by isolated-vm itself means for the parser. Errors of the parser's own
 * code never get here: the runtime catches them inside the isolate (see prelude/runtime.ts),
 * because reading a hostile error object from the host would run its getters with no time limit.
 */
export function isolateFailure(error: unknown, disposed: boolean, limits: ParserLimits, logs: ParserLogLine[] = []): ParserError {
  const message = error instanceof Error ? error.message : String(error);
  if (isTimeout(error)) return new ParserError("timeout", `The parser ran longer than ${limits.timeoutMs} ms`, logs);
  if (disposed || MEMORY.test(message)) return new ParserError("memory", `The parser used more than ${limits.memoryMb} MB of memory`, logs);
  // e.g. a promise the parser left rejected (`import()` always is): isolated-vm fails the call.
  return new ParserError("exception", `The parser failed: ${message}`, logs);
}

// Whole-word hints that a script that failed to compile is TypeScript rather than JavaScript.
const TYPESCRIPT_HINTS = [
  /\b(?:let|const|var)\s+[\w$]+\s*:\s*[\w$[\]<>|]+\s*[=;]/,
  /\)\s*:\s*[\w$[\]<>|]+\s*(?:=>|\{)/,
  /\binterface\s+[\w$]+\s*\{/,
  /\btype\s+[\w$]+\s*=/,
  /\bas\s+(?:const|string|number|boolean|any|unknown)\b/,
  /[(,]\s*[\w$]+\s*:\s*(?:string|number|boolean|any|unknown)\b/,
];

/** A compile error for the parser's author: the reason, the line, and a hint for TypeScript. */
export function compileFailure(error: unknown, source: string): ParserError {
  const raw = error instanceof Error ? error.message : String(error);
  // isolated-vm appends the position to compile errors: "Unexpected token ':' [parser.js:1:6]".
  const position = /\s*\[[^\]]*:(\d+):\d+\]$/.exec(raw);
  const reason = position ? raw.slice(0, position.index) : raw;
  const line = position ? Number(position[1]) : undefined;
  const name = error instanceof Error && error.name !== "Error" ? `${error.name}: ` : "";
  const where = line === undefined ? "" : ` (line ${line})`;
  const hint = TYPESCRIPT_HINTS.some((pattern) => pattern.test(source))
    ? ". The script looks like TypeScript: parsers run as JavaScript, so remove the type annotations"
    : "";
  return new ParserError("compile", `${name}${reason}${where}${hint}`, [], line);
}
