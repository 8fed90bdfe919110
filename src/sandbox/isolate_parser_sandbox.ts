import { performance } from "node:perf_hooks";
import { invalid } from "../errors.js";
import { DeviceIsolate, type RunInput, type RunOutcome } from "./device_isolate.js";
import { sandboxClosed } from "./failure.js";
import { LoopBudget } from "./loop_budget.js";
import { jsonNestedDeeperThan, MAX_NESTING, parserInputJson } from "./nesting.js";
import { bufferScript, dayjsScripts, preludeScript, type IsolateSource } from "./parser_globals.js";
import { ParserError, type ParserLimits, type ParserRunInput, type ParserRunResult, type ParserSandbox } from "./types.js";

export const DEFAULT_PARSER_LIMITS: ParserLimits = { timeoutMs: 200, memoryMb: 32 };
export const DEFAULT_LOOP_SLICE_MS = 2;
export const DEFAULT_MAX_BATCH_MS = 4;

export interface IsolateParserSandboxOptions {
  /** Defaults for every run; a run may override them. */
  limits?: Partial<ParserLimits>;
  /** Device isolates kept alive, least recently used out first (default 256). */
  maxIsolates?: number;
  /** Compiled scripts kept per device isolate (default 4). */
  maxScriptsPerDevice?: number;
  /** Largest parser script accepted, in UTF-16 units (default 1 MiB). */
  maxScriptChars?: number;
  /** Largest output `payload` as JSON, in bytes (default 1 MiB). */
  maxOutputBytes?: number;
  /** Console lines kept per run (default 100), and characters per line (default 1024). */
  maxLogLines?: number;
  maxLogLineChars?: number;
  /**
   * How long a parser may run on the event loop before it is stopped and run again on one of
   * isolated-vm's threads (default 2 ms; 0: always on a thread). A call on the event loop costs
   * a quarter of one on a thread; the slice bounds what a slow or hostile parser can take from
   * the broker. See DeviceIsolate.run and docs/parsers.md.
   */
  loopSliceMs?: number;
  /**
   * How long parsers may hold the event loop in one turn before the next call into an isolate
   * waits for the next turn (setImmediate), in ms (default 4; config `parsers.maxBatchMs`).
   * The last call started may still take two slices, so a turn holds the loop for parsers at
   * most `maxBatchMs + 2 × loopSliceMs`. See LoopBudget and docs/parsers.md.
   */
  maxBatchMs?: number;
  /** Called if V8 loses control of an isolate (isolated-vm's onCatastrophicError). */
  onCatastrophicError?: (message: string) => void;
}

/** A run waiting for its device's turn. */
interface QueuedRun {
  script: string;
  input: RunInput;
  limits: ParserLimits;
  resolve: (result: ParserRunResult) => void;
  reject: (error: unknown) => void;
}

/** One device's place in the LRU: its isolate, and the queue its runs take turns in. */
interface DeviceSlot {
  isolate?: DeviceIsolate;
  /** Runs waiting, in arrival order. */
  queue: QueuedRun[];
  /** A drain of the queue is scheduled or under way. */
  draining: boolean;
  /** How many runs at the head of the queue must each run alone (see DeviceIsolate.runMany). */
  alone: number;
}

/**
 * The most runs of one device taken into one call into its isolate, and the most input JSON
 * (the isolate parses a batch's inputs at once: far below a device's heap limit).
 */
const MAX_BATCH_RUNS = 64;
const MAX_BATCH_CHARS = 256 * 1024;

/**
 * Parsers in isolated-vm: one isolate per device (so a parser exhausting its heap takes down
 * only its own device's isolate), one hardened context per isolate reused by every message,
 * compiled scripts cached per isolate. See docs/parsers.md for why a reused context and not a
 * fresh one per message.
 */
export class IsolateParserSandbox implements ParserSandbox {
  private readonly limits: ParserLimits;
  private readonly maxIsolates: number;
  private readonly maxScripts: number;
  private readonly maxScriptChars: number;
  private readonly maxOutputBytes: number;
  private readonly loopSliceMs: number;
  private readonly budget: LoopBudget;
  private readonly prelude: IsolateSource;
  private readonly onCatastrophicError?: (message: string) => void;
  /** Map order is the LRU order: a run moves its device to the end. */
  private readonly slots = new Map<string, DeviceSlot>();
  private closed = false;

  constructor(options: IsolateParserSandboxOptions = {}) {
    this.limits = checkLimits({ ...DEFAULT_PARSER_LIMITS, ...options.limits });
    this.maxIsolates = options.maxIsolates ?? 256;
    this.maxScripts = options.maxScriptsPerDevice ?? 4;
    this.maxScriptChars = options.maxScriptChars ?? 1024 * 1024;
    this.maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
    this.loopSliceMs = options.loopSliceMs ?? DEFAULT_LOOP_SLICE_MS;
    this.budget = new LoopBudget(options.maxBatchMs ?? DEFAULT_MAX_BATCH_MS);
    this.onCatastrophicError = options.onCatastrophicError;
    this.prelude = preludeScript({
      maxLogLines: options.maxLogLines ?? 100,
      maxLogLineChars: options.maxLogLineChars ?? 1024,
      maxOutputBytes: this.maxOutputBytes,
    });
  }

  async run(script: string, input: ParserRunInput, limits?: Partial<ParserLimits>): Promise<ParserRunResult> {
    if (this.closed) throw sandboxClosed();
    const effective = limits ? checkLimits({ ...this.limits, ...limits }) : this.limits;
    if (typeof script !== "string") throw invalid("parser script must be a string");
    if (script.length > this.maxScriptChars) throw new ParserError("compile", `The parser script is longer than ${this.maxScriptChars} characters`);
    // Serialized here, once: the isolate parses it into `payload` and again into `raw_payload`,
    // which makes both deep copies that share nothing with the caller or with each other.
    const payloadJson = parserInputJson(input.payload);
    const deviceJson = JSON.stringify(input.device);

    const slot = this.slotOf(input.device.id);
    return new Promise<ParserRunResult>((resolve, reject) => {
      slot.queue.push({ script, input: { payloadJson, deviceJson }, limits: effective, resolve, reject });
      this.evictIdle();
      if (slot.draining) return;
      slot.draining = true;
      // Not at once: the device's other messages from the same socket read are on their way
      // here, each as many promise steps behind as this one, and the drain then takes them into
      // the same call into the isolate. A microtask and not setImmediate: a message alone does
      // not wait for a turn of the event loop (measured: ~15 µs more per run).
      queueMicrotask(() => void this.drain(slot));
    });
  }

  /** Disposes every isolate; runs still in flight reject with SANDBOX_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots.values()) slot.isolate?.dispose();
    this.slots.clear();
  }

  /** Isolates alive now (for tests and metrics). */
  get isolateCount(): number {
    let count = 0;
    for (const slot of this.slots.values()) if (slot.isolate?.usable) count++;
    return count;
  }

  private slotOf(deviceId: string): DeviceSlot {
    let slot = this.slots.get(deviceId);
    if (slot) this.slots.delete(deviceId);
    else slot = { queue: [], draining: false, alone: 0 };
    this.slots.set(deviceId, slot);
    return slot;
  }

  /**
   * Runs of one device go one call at a time: they share one context. Whatever is waiting when
   * the device's turn comes is run together, in as few calls as DeviceIsolate.runMany can.
   */
  private async drain(slot: DeviceSlot): Promise<void> {
    try {
      while (slot.queue.length > 0) {
        if (this.closed) {
          for (const run of slot.queue.splice(0)) run.reject(sandboxClosed());
          return;
        }
        // This turn of the event loop has given parsers their share: the rest waits for the
        // next turn, after the I/O that arrived meanwhile (other clients, keepalives, HTTP).
        if (this.budget.spent()) await this.budget.yield();
        if (this.closed) continue;
        await this.runBatch(slot);
      }
    } catch (error) {
      // Not a parser's failure (runBatch settles those): nothing queued may wait forever.
      for (const run of slot.queue.splice(0)) run.reject(error);
      slot.alone = 0;
    } finally {
      slot.draining = false;
    }
  }

  /** Runs the head of the queue: the runs of the same script and limits, up to the batch bounds. */
  private async runBatch(slot: DeviceSlot): Promise<void> {
    const first = slot.queue[0]!;
    let count = 1;
    let chars = first.input.payloadJson.length + first.input.deviceJson.length;
    if (slot.alone === 0) {
      for (; count < slot.queue.length && count < MAX_BATCH_RUNS; count++) {
        const next = slot.queue[count]!;
        chars += next.input.payloadJson.length + next.input.deviceJson.length;
        if (chars > MAX_BATCH_CHARS || !sameParser(next, first)) break;
      }
    }
    const batch = slot.queue.slice(0, count);
    const started = performance.now();
    let outcomes: RunOutcome[];
    let alone: boolean;
    try {
      const isolate = await this.isolateOf(slot, first.limits.memoryMb);
      try {
        ({ outcomes, alone } = await isolate.runMany(first.script, batch.map((run) => run.input), first.limits, this.loopSliceMs, this.budget));
      } finally {
        if (!isolate.usable && slot.isolate === isolate) {
          isolate.dispose();
          slot.isolate = undefined;
        }
      }
    } catch (error) {
      // No isolate for it, or the sandbox closed: the first run fails, the drain goes on.
      slot.queue.shift();
      if (slot.alone > 0) slot.alone--;
      first.reject(error);
      return;
    }
    // A call that failed before any run finished, with nobody to blame: each runs alone.
    if (outcomes.length === 0) alone = true;
    slot.queue.splice(0, outcomes.length);
    slot.alone = alone ? count - outcomes.length : Math.max(0, slot.alone - outcomes.length);
    const durationMs = (performance.now() - started) / Math.max(1, outcomes.length);
    outcomes.forEach((outcome, i) => this.settle(batch[i]!, outcome, durationMs));
  }

  private settle(run: QueuedRun, outcome: RunOutcome, durationMs: number): void {
    if (outcome instanceof ParserError) return run.reject(outcome);
    const { json, logs } = outcome;
    if (Buffer.byteLength(json) > this.maxOutputBytes) {
      return run.reject(new ParserError("invalid_output", `payload is larger than ${this.maxOutputBytes} bytes as JSON`, logs));
    }
    if (jsonNestedDeeperThan(json, MAX_NESTING)) {
      return run.reject(new ParserError("invalid_output", `payload nests arrays and objects deeper than ${MAX_NESTING} levels`, logs));
    }
    run.resolve({ payload: JSON.parse(json) as unknown, logs, durationMs });
  }

  /** Beyond `maxIsolates`, the least recently used devices with nothing queued lose their isolate. */
  private evictIdle(): void {
    for (const [deviceId, slot] of this.slots) {
      if (this.slots.size <= this.maxIsolates) return;
      if (slot.draining || slot.queue.length > 0) continue;
      slot.isolate?.dispose();
      this.slots.delete(deviceId);
    }
  }

  private async isolateOf(slot: DeviceSlot, memoryMb: number): Promise<DeviceIsolate> {
    if (slot.isolate?.usable && slot.isolate.memoryMb === memoryMb) return slot.isolate;
    slot.isolate?.dispose();
    slot.isolate = undefined;
    const isolate = await DeviceIsolate.create({
      memoryMb,
      libraries: [...dayjsScripts(), bufferScript()],
      prelude: this.prelude,
      maxScripts: this.maxScripts,
      onCatastrophicError: this.onCatastrophicError,
    });
    if (this.closed) {
      isolate.dispose();
      throw sandboxClosed();
    }
    slot.isolate = isolate;
    return isolate;
  }
}

function sameParser(a: QueuedRun, b: QueuedRun): boolean {
  return a.script === b.script && a.limits.timeoutMs === b.limits.timeoutMs && a.limits.memoryMb === b.limits.memoryMb;
}

function checkLimits(limits: ParserLimits): ParserLimits {
  if (!Number.isFinite(limits.timeoutMs) || limits.timeoutMs < 1) throw invalid("parser timeoutMs must be at least 1");
  // isolated-vm refuses heaps under 8 MB.
  if (!Number.isFinite(limits.memoryMb) || limits.memoryMb < 8) throw invalid("parser memoryMb must be at least 8");
  return limits;
}
