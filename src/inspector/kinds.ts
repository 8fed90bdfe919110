import type { InspectorEventKind } from "./types.js";

/** Every event kind, for validating filters that arrive as text (query strings, CLI flags). */
export const INSPECTOR_EVENT_KINDS = [
  "connect",
  "disconnect",
  "subscribe",
  "unsubscribe",
  "message_in",
  "message_out",
  "http_in",
  "parser_input",
  "parser_output",
  "parser_log",
  "action",
  "stored",
  "error",
  "dead_letter",
] as const satisfies readonly InspectorEventKind[];

// Fails to compile when a kind is added to the union in types.ts but not to the list above.
type Missing = Exclude<InspectorEventKind, (typeof INSPECTOR_EVENT_KINDS)[number]>;
const complete: [Missing] extends [never] ? true : never = true;
void complete;

const known: ReadonlySet<string> = new Set(INSPECTOR_EVENT_KINDS);

export const isInspectorEventKind = (value: string): value is InspectorEventKind => known.has(value);
