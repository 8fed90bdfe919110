import { performance } from "node:perf_hooks";

/**
 * How long parsers may hold the event loop in one go, shared by every device's queue.
 *
 * Calls into isolates on the event loop (DeviceIsolate.run/runMany) are synchronous, and the
 * queues drain from microtasks: without a yield, 512 waiting messages of a 1.8 ms parser ran
 * back to back and held the loop for a second, MQTT keepalives and HTTP requests included.
 * So the time spent since the loop's current turn started running parsers is counted, and once
 * it reaches `maxBatchMs` a queue that wants to start another call waits for the next turn
 * (setImmediate), after the I/O that came in meanwhile.
 *
 * The clock is wall time on the event loop (performance.now): what the loop's other clients
 * wait is wall time, and on the event loop a busy machine only makes the wall time longer than
 * the CPU time, never shorter, so the bound is never looser than the same bound in CPU time.
 *
 * A turn is detected without hooks into libuv: the first call of a turn schedules a
 * setImmediate that marks the turn over. That immediate runs after everything queued
 * synchronously or as microtasks from here, and before any yield scheduled later (immediates
 * run in order), so a queue that yields always resumes in a fresh turn.
 */
export class LoopBudget {
  private turnStarted: number | undefined;
  private readonly endTurn = () => {
    this.turnStarted = undefined;
  };

  constructor(
    /** Milliseconds of a turn parsers may take before the next call waits for the next turn; 0: one call per turn. */
    readonly maxBatchMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isFinite(maxBatchMs) || maxBatchMs < 0) throw new RangeError(`maxBatchMs must be a non-negative number, got ${maxBatchMs}`);
  }

  /** Marks the start of a call into an isolate (the turn starts with the first one). */
  begin(): void {
    if (this.turnStarted !== undefined) return;
    this.turnStarted = this.now();
    setImmediate(this.endTurn);
  }

  /** Whether this turn's share for parsers is used up: the caller should `yield` before another call. */
  spent(): boolean {
    return this.turnStarted !== undefined && this.now() - this.turnStarted >= this.maxBatchMs;
  }

  /**
   * Resolves in a later turn of the event loop. One setImmediate per waiting queue, not one
   * shared promise: immediates run in the order they were scheduled, so queues that yield take
   * turns (round robin) instead of the first one taking every turn.
   */
  yield(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}
