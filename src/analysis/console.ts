import type { EventHub } from "../events/hub.js";

export interface ConsoleLine {
  timestamp: string;
  message: string;
}

export interface ConsoleBounds {
  /** Lines kept per analysis. */
  lines: number;
  /** Bytes of messages kept per analysis. */
  bytes: number;
}

/** Longest single line kept; longer ones are cut (a line is for reading, not for data). */
export const MAX_LINE_BYTES = 16 * 1024;

interface Ring {
  lines: ConsoleLine[];
  bytes: number;
}

/**
 * Each analysis's console: the newest lines within bounds, in memory (a restart clears them,
 * like a terminal), and live on the EventHub channel `analysis_console.<analysis id>`.
 */
export class AnalysisConsole {
  private readonly rings = new Map<string, Ring>();

  constructor(
    private readonly hub: EventHub,
    private readonly bounds: ConsoleBounds,
  ) {}

  append(accountId: string, analysisId: string, message: string, time = new Date()): void {
    const text = cut(message);
    const line: ConsoleLine = { timestamp: (Number.isNaN(time.getTime()) ? new Date() : time).toISOString(), message: text };
    let ring = this.rings.get(analysisId);
    if (!ring) this.rings.set(analysisId, (ring = { lines: [], bytes: 0 }));
    ring.lines.push(line);
    ring.bytes += Buffer.byteLength(text);
    // Dropping from the front of an array is O(n), but n is bounded by `lines` and a drop
    // happens at most once per append in steady state.
    while (ring.lines.length > this.bounds.lines || (ring.bytes > this.bounds.bytes && ring.lines.length > 1)) {
      ring.bytes -= Buffer.byteLength(ring.lines.shift()!.message);
    }
    this.hub.publish(accountId, `analysis_console.${analysisId}`, { analysis_id: analysisId, ...line });
  }

  /** Oldest first. */
  list(analysisId: string): ConsoleLine[] {
    return [...(this.rings.get(analysisId)?.lines ?? [])];
  }

  clear(analysisId: string): void {
    this.rings.delete(analysisId);
  }
}

function cut(message: string): string {
  if (message.length * 3 <= MAX_LINE_BYTES) return message; // fast path: cannot exceed in UTF-8
  const buffer = Buffer.from(message);
  if (buffer.length <= MAX_LINE_BYTES) return message;
  return `${buffer.subarray(0, MAX_LINE_BYTES).toString("utf8").replace(/\uFFFD$/, "")}… (line cut)`;
}
