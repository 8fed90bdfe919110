import type { InspectorEventJson } from "../inspector/serialize.js";

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

/**
 * Summaries carry what devices sent (topics, payload previews, parser output): escape control
 * characters, so a device cannot move the cursor, retitle the terminal or hide text behind
 * bidirectional overrides, and so one event stays one line.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/**
 * Colours only for a terminal, and never when the user said no: `--no-color`, or a non-empty
 * NO_COLOR (https://no-color.org).
 */
export function colorWanted(noColorFlag: boolean, env: NodeJS.ProcessEnv, isTty: boolean): boolean {
  return !noColorFlag && !env.NO_COLOR && isTty;
}
