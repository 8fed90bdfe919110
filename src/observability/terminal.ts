/** What Sluice writes to a person's terminal: colours only when wanted, and nothing that drives it. */

/**
 * Text that came from outside (device summaries, client ids, topics, log messages): escape
 * control characters, so it cannot move the cursor, retitle the terminal or hide text behind
 * bidirectional overrides and marks, and so one event stays one line: U+2028 and U+2029 (line
 * and paragraph separators) end a line for editors, `less` and Python's `splitlines` alike.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
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
