import ivm from "isolated-vm";
import { isolateFailure, isTimeout, sandboxClosed } from "./failure.js";
import type { IsolateSource } from "./parser_globals.js";
import type { RuntimeHooks, SettleResult } from "./prelude/runtime.js";
import { ScriptCache } from "./script_cache.js";
import { ParserError, type ParserLimits, type ParserLogLine } from "./types.js";

export interface DeviceIsolateOptions {
  memoryMb: number;
  /** Scripts run once, in order, before the prelude (dayjs and its plugins). */
  libraries: IsolateSource[];
  prelude: IsolateSource;
  maxScripts: number;
  onCatastrophicError?: (message: string) => void;
}

/** The hooks' own work is small and bounded; this only guards against a context left in a bad state. */
const HOOK_TIMEOUT_MS = 1000;

/**
 * One device's isolate and its single, hardened context. A run is one call into the isolate,
 * under the time limit (the runtime's settle: fresh copies of payload, raw_payload and device,
 * the parser, `payload` serialized, console lines out, the run's globals deleted); only a run
 * stopped from outside needs a second call (end) to restore the context.
 * When `end` cannot restore the context, or the heap limit disposed the isolate, `usable` turns
 * false and the owner replaces the whole isolate before the next run.
 */
export class DeviceIsolate {
  private dirty = false;
  private disposedByOwner = false;

  private constructor(
    private readonly isolate: ivm.Isolate,
    private readonly hooks: {
      settle: ivm.Reference<RuntimeHooks["settle"]>;
      end: ivm.Reference<RuntimeHooks["end"]>;
    },
    private readonly scripts: ScriptCache,
    readonly memoryMb: number,
  ) {}

  static async create(options: DeviceIsolateOptions): Promise<DeviceIsolate> {
    const isolate = new ivm.Isolate({ memoryLimit: options.memoryMb, onCatastrophicError: options.onCatastrophicError });
    try {
      const context = await isolate.createContext();
      for (const library of options.libraries) await runOnce(isolate, context, library);
      const prelude = await isolate.compileScript(options.prelude.code, { filename: options.prelude.filename });
      const hooks = (await prelude.run(context, { reference: true })) as ivm.Reference<RuntimeHooks>;
      prelude.release();
      const settle = (await hooks.get("settle", { reference: true })) as ivm.Reference<RuntimeHooks["settle"]>;
      const end = (await hooks.get("end", { reference: true })) as ivm.Reference<RuntimeHooks["end"]>;
      const checkBody = (await hooks.get("checkBody", { reference: true })) as ivm.Reference<RuntimeHooks["checkBody"]>;
      hooks.release();
      const scripts = new ScriptCache(
        isolate,
        context,
        (body) => checkBody.applySync(undefined, [body], { timeout: HOOK_TIMEOUT_MS }) as string | undefined,
        options.maxScripts,
      );
      return new DeviceIsolate(isolate, { settle, end }, scripts, options.memoryMb);
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      throw error;
    }
  }

  /** False once the isolate is gone or its context could not be restored after a run. */
  get usable(): boolean {
    return !this.dirty && !this.isolate.isDisposed;
  }

  /**
   * Runs `source` on one message. Resolves with the output JSON and console lines, or rejects
   * with a ParserError of the matching kind.
   *
   * Where it runs: a call on the event loop costs a quarter of one on isolated-vm's threads
   * (measured: ~25 µs against ~110 µs of CPU for a typical parser), but a parser on the event
   * loop holds up the whole broker while it runs. So a parser first gets `loopSliceMs` on the
   * event loop; one that needs longer is stopped and run again from the start on a thread, with
   * its whole time limit (nothing of the stopped attempt survives it, so this is invisible to
   * the parser), and that parser's next messages go straight to a thread until one of them
   * proves fast again. `loopSliceMs` 0 sends everything to threads.
   */
  async run(source: string, payloadJson: string, deviceJson: string, limits: ParserLimits, loopSliceMs: number): Promise<{ json: string; logs: ParserLogLine[] }> {
    const compiled = await this.guard(() => this.scripts.get(source), limits);
    if ("error" in compiled) throw compiled.error;
    // derefInto: the isolate receives its own function back, not a reference to it. The typings
    // only know Dereference as a transferable in general, hence the cast.
    const args = (): [() => unknown, string, string] => [compiled.parser.derefInto() as unknown as () => unknown, payloadJson, deviceJson];

    if (!compiled.slow && loopSliceMs > 0) {
      const slice = Math.min(loopSliceMs, limits.timeoutMs);
      let settled: SettleResult | undefined;
      try {
        // `copy`: the result comes out as a structured clone of the plain object settle returns.
        settled = this.hooks.settle.applySync(undefined, args(), { timeout: slice, result: { copy: true } }) as SettleResult;
      } catch (error) {
        const sliceRanOut = isTimeout(error) && slice < limits.timeoutMs && !this.isolate.isDisposed && !this.disposedByOwner;
        if (!sliceRanOut) throw this.stopped(error, limits);
        this.end(); // restores the context; the attempt's console lines go with it
        compiled.slow = true;
      }
      if (settled) return this.outcome(settled);
    }

    // The isolate's own running time, not the wall clock around the await: under load the
    // latter includes the event loop's queue, and a fast parser would then never prove fast
    // again and stay on the (four times costlier) threads for good.
    const ranBefore = this.isolate.wallTime;
    let settled: SettleResult;
    try {
      settled = (await this.hooks.settle.apply(undefined, args(), { timeout: limits.timeoutMs, result: { copy: true } })) as SettleResult;
    } catch (error) {
      throw this.stopped(error, limits);
    }
    compiled.slow = Number(this.isolate.wallTime - ranBefore) / 1e6 > loopSliceMs;
    return this.outcome(settled);
  }

  dispose(): void {
    this.disposedByOwner = true;
    this.scripts.release();
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }

  private outcome(settled: SettleResult): { json: string; logs: ParserLogLine[] } {
    if (!settled.clean) this.dirty = true;
    if (!settled.ok) throw new ParserError(settled.kind, settled.message, settled.logs, settled.line);
    return { json: settled.json, logs: settled.logs };
  }

  /** The error for a run stopped from outside (time or heap limit, shutdown); the context is restored first. */
  private stopped(error: unknown, limits: ParserLimits): Error {
    if (this.disposedByOwner) return sandboxClosed();
    return isolateFailure(error, this.isolate.isDisposed, limits, this.end());
  }

  /** Drains the console and clears the run's globals; a context that resists is marked dirty. */
  private end(): ParserLogLine[] {
    if (this.isolate.isDisposed) return []; // the heap limit took the console lines with it
    try {
      const { logs, clean } = this.hooks.end.applySync(undefined, [], { timeout: HOOK_TIMEOUT_MS, result: { copy: true } }) as ReturnType<RuntimeHooks["end"]>;
      if (!clean) this.dirty = true;
      return logs;
    } catch {
      this.dirty = true;
      return [];
    }
  }

  /** Runs a host step; isolated-vm's own failures (heap limit, shutdown) become ParserErrors. */
  private async guard<T>(step: () => T | Promise<T>, limits: ParserLimits): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof ParserError) throw error;
      if (this.disposedByOwner) throw sandboxClosed();
      this.dirty = true;
      throw isolateFailure(error, this.isolate.isDisposed, limits);
    }
  }
}

async function runOnce(isolate: ivm.Isolate, context: ivm.Context, source: IsolateSource): Promise<void> {
  const script = await isolate.compileScript(source.code, { filename: source.filename });
  await script.run(context);
  script.release();
}
