import ivm from "isolated-vm";
import { isolateFailure, isTimeout, sandboxClosed } from "./failure.js";
import type { LoopBudget } from "./loop_budget.js";
import type { IsolateSource } from "./parser_globals.js";
import type { RuntimeHooks, SettleResult } from "./prelude/runtime.js";
import { ScriptCache, type CompiledParser } from "./script_cache.js";
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
 * stopped from outside needs a second call (end) to restore the context. Several waiting runs
 * can share one call (`runMany`, the runtime's settleMany), each still a run of its own.
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
      settleMany: ivm.Reference<RuntimeHooks["settleMany"]>;
      finished: ivm.Reference<RuntimeHooks["finished"]>;
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
      const settleMany = (await hooks.get("settleMany", { reference: true })) as ivm.Reference<RuntimeHooks["settleMany"]>;
      const finished = (await hooks.get("finished", { reference: true })) as ivm.Reference<RuntimeHooks["finished"]>;
      const end = (await hooks.get("end", { reference: true })) as ivm.Reference<RuntimeHooks["end"]>;
      const checkBody = (await hooks.get("checkBody", { reference: true })) as ivm.Reference<RuntimeHooks["checkBody"]>;
      hooks.release();
      const scripts = new ScriptCache(
        isolate,
        context,
        (body) => checkBody.applySync(undefined, [body], { timeout: HOOK_TIMEOUT_MS }) as string | undefined,
        options.maxScripts,
      );
      return new DeviceIsolate(isolate, { settle, settleMany, finished, end }, scripts, options.memoryMb);
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
  async run(source: string, input: RunInput, limits: ParserLimits, loopSliceMs: number, budget?: LoopBudget): Promise<RunOutput> {
    const compiled = await this.guard(() => this.scripts.get(source), limits);
    if ("error" in compiled) throw compiled.error;
    if (!compiled.slow && loopSliceMs > 0) {
      const slice = Math.min(loopSliceMs, limits.timeoutMs);
      let settled: SettleResult | undefined;
      budget?.begin();
      try {
        // `copy`: the result comes out as a structured clone of the plain object settle returns.
        settled = this.hooks.settle.applySync(undefined, [parserOf(compiled), input.payloadJson, input.deviceJson], { timeout: slice, result: { copy: true } }) as SettleResult;
      } catch (error) {
        const sliceRanOut = isTimeout(error) && slice < limits.timeoutMs && !this.isolate.isDisposed && !this.disposedByOwner;
        if (!sliceRanOut) throw this.stopped(error, limits);
        this.end(); // restores the context; the attempt's console lines go with it
        compiled.slow = true;
      }
      if (settled) return unwrap(this.outcome(settled));
    }
    return this.onThread(compiled, input, limits, loopSliceMs);
  }

  /**
   * Runs `source` on several messages of this device, in order, in as few calls into the
   * isolate as the event-loop slice allows: one call per message costs more than the parser
   * itself when it is a small one (the call, its timer, the copies). Each message is still run
   * as `run` would: its own fresh inputs, output or failure, and console lines.
   *
   * Every call has the slice as its time limit, and the runtime stops a call between messages
   * once half of it has passed; a message that still runs out of the slice is run again alone,
   * exactly as in `run` (a slice of its own, then a thread), and the others keep their outcomes.
   * So one call holds the event loop for two slices at most. Between calls, once `budget` says
   * this turn of the event loop has given parsers their share, it stops and resolves with what
   * is done: the caller yields before the rest (see LoopBudget). Resolves with the
   * outcomes of the first messages, in order: all of them, or fewer when the budget ran out, when a message left the
   * context unusable (the rest need a new isolate), or when a call failed in a way no single
   * message can be blamed for (heap limit, a promise left rejected): `alone` then says that the
   * rest must be run one by one, with `run`, so that the failure finds its own message.
   */
  async runMany(source: string, inputs: RunInput[], limits: ParserLimits, loopSliceMs: number, budget?: LoopBudget): Promise<{ outcomes: RunOutcome[]; alone: boolean }> {
    const compiled = await this.guard(() => this.scripts.get(source), limits);
    if ("error" in compiled) return { outcomes: inputs.map(() => compiled.error), alone: false };
    if (inputs.length === 1 || compiled.slow || loopSliceMs <= 0) {
      return { outcomes: [await outcomeOf(this.run(source, inputs[0]!, limits, loopSliceMs, budget))], alone: false };
    }
    const slice = Math.min(loopSliceMs, limits.timeoutMs);
    const outcomes: RunOutcome[] = [];
    while (outcomes.length < inputs.length && this.usable) {
      // Never before the first call, so that every call of runMany makes progress.
      if (outcomes.length > 0 && budget?.spent()) break;
      budget?.begin();
      const rest = inputs.slice(outcomes.length);
      let results: SettleResult[];
      try {
        results = this.hooks.settleMany.applySync(
          undefined,
          [parserOf(compiled), `[${rest.map((i) => i.payloadJson).join(",")}]`, `[${rest.map((i) => i.deviceJson).join(",")}]`, slice / 2],
          { timeout: slice, result: { copy: true } },
        ) as SettleResult[];
      } catch (error) {
        if (this.disposedByOwner) throw sandboxClosed();
        if (!isTimeout(error) || this.isolate.isDisposed) {
          this.end();
          return { outcomes, alone: true };
        }
        // A message ran out of what was left of the slice: the ones before it are done. It had
        // less than a whole slice (and a busy machine may have taken the rest), so it is run
        // again alone, as `run` does: a whole slice on the event loop, then a thread if need be.
        for (const result of this.takeFinished()) outcomes.push(this.outcome(result));
        this.end(); // the stopped attempt's console lines go with it, as in `run`
        if (this.usable) outcomes.push(await outcomeOf(this.run(source, inputs[outcomes.length]!, limits, loopSliceMs, budget)));
        return { outcomes, alone: false };
      }
      for (const result of results) outcomes.push(this.outcome(result));
    }
    return { outcomes, alone: false };
  }

  dispose(): void {
    this.disposedByOwner = true;
    this.scripts.release();
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }

  /**
   * The rest of `run` on one of isolated-vm's threads, with the whole time limit. Whether the
   * parser is slow is judged by the CPU time the isolate spent on the run, not by a wall clock:
   * the wall clock around the await includes the event loop's queue, and even the isolate's
   * own wall time includes the time the thread waited for a core. On a busy machine either
   * would keep a fast parser from ever proving fast again, on the (four times costlier)
   * threads for good.
   */
  private async onThread(compiled: RunnableParser, input: RunInput, limits: ParserLimits, loopSliceMs: number): Promise<RunOutput> {
    const ranBefore = this.isolate.cpuTime;
    let settled: SettleResult;
    try {
      settled = (await this.hooks.settle.apply(undefined, [parserOf(compiled), input.payloadJson, input.deviceJson], { timeout: limits.timeoutMs, result: { copy: true } })) as SettleResult;
    } catch (error) {
      throw this.stopped(error, limits);
    }
    compiled.slow = Number(this.isolate.cpuTime - ranBefore) / 1e6 > loopSliceMs;
    return unwrap(this.outcome(settled));
  }

  private outcome(settled: SettleResult): RunOutcome {
    if (!settled.clean) this.dirty = true;
    if (!settled.ok) return new ParserError(settled.kind, settled.message, settled.logs, settled.line);
    return { json: settled.json, logs: settled.logs };
  }

  /** The runs a stopped settleMany had finished; none if the context cannot tell. */
  private takeFinished(): SettleResult[] {
    try {
      return this.hooks.finished.applySync(undefined, [], { timeout: HOOK_TIMEOUT_MS, result: { copy: true } }) as SettleResult[];
    } catch {
      this.dirty = true;
      return [];
    }
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

/** A message as the isolate receives it: its records and its device, as JSON. */
export interface RunInput {
  payloadJson: string;
  deviceJson: string;
}

export interface RunOutput {
  json: string;
  logs: ParserLogLine[];
}

/** One message's outcome in `runMany`: its output, or its own failure. */
export type RunOutcome = RunOutput | ParserError;

type RunnableParser = Extract<CompiledParser, { parser: unknown }>;

/**
 * derefInto: the isolate receives its own function back, not a reference to it (one transfer
 * per call). The typings only know Dereference as a transferable in general, hence the cast.
 */
function parserOf(compiled: RunnableParser): () => unknown {
  return compiled.parser.derefInto() as unknown as () => unknown;
}

function unwrap(outcome: RunOutcome): RunOutput {
  if (outcome instanceof ParserError) throw outcome;
  return outcome;
}

/** A run's failure as its outcome; anything but a ParserError (the sandbox closing) still rejects. */
async function outcomeOf(run: Promise<RunOutput>): Promise<RunOutcome> {
  try {
    return await run;
  } catch (error) {
    if (error instanceof ParserError) return error;
    throw error;
  }
}

async function runOnce(isolate: ivm.Isolate, context: ivm.Context, source: IsolateSource): Promise<void> {
  const script = await isolate.compileScript(source.code, { filename: source.filename });
  await script.run(context);
  script.release();
}
