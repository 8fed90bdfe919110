import type ivm from "isolated-vm";
import { compileFailure } from "./failure.js";
import { PARSER_FILENAME, wrapParser } from "./parser_globals.js";
import { ParserError } from "./types.js";

/**
 * A parser ready to run: its function, created once in the isolate's context (see wrapParser),
 * and whether its last run needed longer than the event-loop slice (see DeviceIsolate.run).
 */
export type CompiledParser = { parser: ivm.Reference<() => unknown>; slow: boolean } | { error: ParserError };

/**
 * One isolate's compiled parsers: compile once, run on every message. Keyed by the source text
 * itself (a Map hashes strings natively, cheaper per message than a digest), least recently
 * used first out. Compile errors are cached too, so a broken parser costs one compile, not one
 * per message. A device has one parser; the room for a few more is for parser tests.
 */
export class ScriptCache {
  private readonly entries = new Map<string, CompiledParser>();

  constructor(
    private readonly isolate: ivm.Isolate,
    private readonly context: ivm.Context,
    /** Error message when the body does not parse as a function body on its own (see runtime checkBody). */
    private readonly checkBody: (body: string) => string | undefined,
    private readonly capacity: number,
  ) {}

  async get(source: string): Promise<CompiledParser> {
    const cached = this.entries.get(source);
    if (cached) {
      this.entries.delete(source);
      this.entries.set(source, cached);
      return cached;
    }
    const compiled = await this.compile(source);
    this.entries.set(source, compiled);
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      if ("parser" in entry) entry.parser.release();
      this.entries.delete(key);
    }
    return compiled;
  }

  private async compile(source: string): Promise<CompiledParser> {
    let script: ivm.Script;
    try {
      script = await this.isolate.compileScript(wrapParser(source), { filename: PARSER_FILENAME, lineOffset: -1 });
    } catch (error) {
      if (this.isolate.isDisposed) throw error;
      return { error: compileFailure(error, source) };
    }
    // The wrapper compiled, but the body may only have done so by closing the wrapper early
    // (`}); let leak = 1; (function () {`), which would run code outside the function and keep
    // script-level bindings across messages. A body that is valid on its own cannot do that.
    try {
      const escape = this.checkBody(source);
      if (escape !== undefined) return { error: new ParserError("compile", `The parser must be a script on its own: ${escape}`) };
      // Evaluating the wrapper only creates the function: none of the parser's code runs yet.
      return { parser: (await script.run(this.context, { reference: true })) as ivm.Reference<() => unknown>, slow: false };
    } finally {
      script.release();
    }
  }

  release(): void {
    for (const entry of this.entries.values()) if ("parser" in entry) entry.parser.release();
    this.entries.clear();
  }
}
