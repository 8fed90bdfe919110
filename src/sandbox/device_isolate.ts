import ivm from "isolated-vm";
import { isolateFailure, sandboxClosed, withLogs } from "./failure.js";
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
 * One device's isolate and its single, hardened context. Each run goes:
 *   begin (fresh copies of payload, raw_payload, device) → settle (the parser, then `payload`
 *   serialized inside the isolate, both under the time limit) → end (console lines out, globals
 *   the run created deleted).
 * When `end` cannot restore the context, or the heap limit disposed the isolate, `usable` turns
 * false and the owner replaces the whole isolate before the next run.
 */
export class DeviceIsolate {
  private dirty = false;
  private disposedByOwner = false;

  private constructor(
    private readonly isolate: ivm.Isolate,
    private readonly hooks: {
      begin: ivm.Reference<RuntimeHooks["begin"]>;
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
      const begin = (await hooks.get("begin", { reference: true })) as ivm.Reference<RuntimeHooks["begin"]>;
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
      return new DeviceIsolate(isolate, { begin, settle, end }, scripts, options.memoryMb);
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      throw error;
    }
  }

  /** False once the isolate is gone or its context could not be restored after a run. */
  get usable(): boolean {
    return !this.dirty && !this.isolate.isDisposed;
  }

  /** Heap in use, for measurements and diagnostics. */
  heapBytes(): number {
    return this.isolate.isDisposed ? 0 : this.isolate.getHeapStatisticsSync().used_heap_size;
  }

  /**
   * Runs `source` on one message. Resolves with the output JSON and console lines, or rejects
   * with a ParserError of the matching kind.
   */
  async run(source: string, payloadJson: string, deviceJson: string, limits: ParserLimits, offThread: boolean): Promise<{ json: string; logs: ParserLogLine[] }> {
    const compiled = await this.guard(() => this.scripts.get(source), limits);
    if ("error" in compiled) throw compiled.error;

    await this.guard(() => this.hooks.begin.applySync(undefined, [payloadJson, deviceJson], { timeout: HOOK_TIMEOUT_MS }), limits);

    let settled: SettleResult | undefined;
    let failure: ParserError | undefined;
    try {
      // derefInto: the isolate receives its own function back, not a reference to it. The typings
      // only know Dereference as a transferable in general, hence the cast.
      const args = [compiled.parser.derefInto() as unknown as () => unknown] as [() => unknown];
      // `copy`: the result comes out as a structured clone of the plain object settle returns.
      const options = { timeout: limits.timeoutMs, result: { copy: true } } as const;
      settled = (offThread ? await this.hooks.settle.apply(undefined, args, options) : this.hooks.settle.applySync(undefined, args, options)) as SettleResult;
    } catch (error) {
      if (this.disposedByOwner) throw sandboxClosed();
      failure = isolateFailure(error, this.isolate.isDisposed, limits);
    }
    const logs = this.end();
    if (failure) throw withLogs(failure, logs);
    if (!settled!.ok) throw new ParserError(settled!.kind, settled!.message, logs, settled!.line);
    return { json: settled!.json, logs };
  }

  dispose(): void {
    this.disposedByOwner = true;
    this.scripts.release();
    if (!this.isolate.isDisposed) this.isolate.dispose();
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
