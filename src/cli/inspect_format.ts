import type { InspectorEventJson } from "../inspector/serialize.js";
import { printable } from "../observability/terminal.js";

// Summaries carry what devices sent: `printable` escapes their control characters.
export { colorWanted, printable } from "../observability/terminal.js";

/** SGR colour codes per event kind: lifecycle green/yellow, traffic blue/magenta, errors red. */
const KIND_COLORS: Record<string, string> = {
  connect: "32",
  disconnect: "33",
  subscribe: "36",
  unsubscribe: "36",
  message_in: "34",
  message_out: "35",
  http_in: "34",
  parser_input: "90",
  parser_output: "90",
  parser_log: "37",
  action: "35",
  stored: "32",
  error: "1;31",
  dead_letter: "31",
};

/** Width of the longest kind, so summaries line up. */
const KIND_WIDTH = Math.max(...Object.keys(KIND_COLORS).map((kind) => kind.length));

const paint = (code: string | undefined, text: string, color: boolean): string =>
  color && code !== undefined ? `\u001b[${code}m${text}\u001b[0m` : text;

/** `time  kind  summary`, one line, kind coloured when `color`. */
export function formatEventLine(event: InspectorEventJson, color: boolean): string {
  const kind = paint(KIND_COLORS[event.kind], event.kind.padEnd(KIND_WIDTH), color);
  return `${paint("2", event.time, color)}  ${kind}  ${printable(event.summary)}`;
}
