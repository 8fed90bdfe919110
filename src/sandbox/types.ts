import { SluiceError } from "../errors.js";
import type { RecordInput } from "../data/types.js";

/** The `device` global a parser sees (SPEC: Payload parsers). */
export interface ParserDevice {
  id: string;
  name: string;
  params: { key: string; value: string; sent: boolean }[];
  tags: { key: string; value: string }[];
}

export interface ParserLogLine {
  level: "log" | "debug" | "info" | "warn" | "error";
  message: string;
}

export interface ParserRunInput {
  /** The records as they arrived (`payload` and `raw_payload` globals). */
  payload: RecordInput[];
  device: ParserDevice;
}

export interface ParserRunResult {
  /** What `payload` held at the end (not yet validated as records). */
  payload: unknown;
  logs: ParserLogLine[];
  /** Time in the sandbox; a run that shared its call into the isolate with others gets its share. */
  durationMs: number;
}

export type { ParserFailureKind } from "../http/api_types.js";
import type { ParserFailureKind } from "../http/api_types.js";

export class ParserError extends SluiceError {
  constructor(
    readonly kind: ParserFailureKind,
    message: string,
    readonly logs: ParserLogLine[] = [],
    /** Line in the parser script where it failed, when known (compile and exception kinds). */
    readonly line?: number,
  ) {
    super(`PARSER_${kind.toUpperCase()}`, message, 400);
    this.name = "ParserError";
  }
}

export interface ParserLimits {
  /** Wall time per run; default 200 ms. */
  timeoutMs: number;
  /** Heap per device isolate; default 32 MB. */
  memoryMb: number;
}

/** Runs device payload parsers in isolation from the host and from each other. */
export interface ParserSandbox {
  run(script: string, input: ParserRunInput, limits?: Partial<ParserLimits>): Promise<ParserRunResult>;
  close(): Promise<void>;
}
