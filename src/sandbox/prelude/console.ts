// Runs INSIDE the parser isolate: parser_globals.ts sends this function's source text there.
// It must stay self-contained (no imports, no references to anything outside its body).

export interface SandboxLogLine {
  level: "log" | "debug" | "info" | "warn" | "error";
  message: string;
}

export interface SandboxConsole {
  console: Record<string, (...args: unknown[]) => void>;
  /** The lines of the run so far, emptied for the next run. */
  take(): SandboxLogLine[];
}

/**
 * The parser's `console`: every call is formatted to text at once (so nothing the parser owns
 * is read after its time limit) and kept in a bounded buffer the host drains after each run.
 */
export function makeConsole(limits: { maxLines: number; maxLineChars: number }): SandboxConsole {
  const { maxLines, maxLineChars } = limits;
  const describeProperty = Object.getOwnPropertyDescriptor;
  const keysOf = Object.keys;
  let lines: SandboxLogLine[] = [];
  let dropped = 0;

  // A small inspector in the spirit of Node's: JSON-like, bounded in depth, width and length,
  // and it shows accessors as [Getter] instead of calling them.
  function inspect(value: unknown, depth: number, out: { text: string }): void {
    if (out.text.length > maxLineChars) return;
    switch (typeof value) {
      case "string":
        out.text += depth === 0 ? value : JSON.stringify(value);
        return;
      case "bigint":
        out.text += `${value}n`;
        return;
      case "symbol":
        out.text += value.toString();
        return;
      case "function":
        out.text += `[Function: ${(value as { name?: unknown }).name || "anonymous"}]`;
        return;
      case "object":
        break;
      default:
        out.text += String(value);
        return;
    }
    if (value === null) {
      out.text += "null";
      return;
    }
    if (value instanceof Error) {
      out.text += typeof value.stack === "string" ? value.stack : `${value.name}: ${value.message}`;
      return;
    }
    if (value instanceof Date) {
      out.text += Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
      return;
    }
    if (value instanceof Uint8Array) {
      const shown = Array.prototype.slice.call(value, 0, 50).map((byte: number) => (byte < 16 ? "0" : "") + byte.toString(16));
      out.text += `<Buffer ${shown.join(" ")}${value.length > 50 ? ` ... ${value.length - 50} more bytes` : ""}>`;
      return;
    }
    const isArray = Array.isArray(value);
    if (depth >= 4) {
      out.text += isArray ? "[Array]" : "[Object]";
      return;
    }
    const keys = keysOf(value);
    out.text += isArray ? "[" : "{";
    for (let i = 0; i < keys.length; i++) {
      if (out.text.length > maxLineChars) return;
      if (i >= 50) {
        out.text += `, ... ${keys.length - 50} more`;
        break;
      }
      if (i > 0) out.text += ", ";
      const key = keys[i]!;
      if (!isArray) out.text += `${JSON.stringify(key)}: `;
      const property = describeProperty(value, key);
      if (property && !("value" in property)) out.text += "[Getter]";
      else inspect(property?.value, depth + 1, out);
    }
    out.text += isArray ? "]" : "}";
  }

  function format(args: unknown[]): string {
    const out = { text: "" };
    for (let i = 0; i < args.length; i++) {
      if (i > 0) out.text += " ";
      try {
        inspect(args[i], 0, out);
      } catch {
        // A Proxy or an exotic object refused to be read; say so rather than failing the parser.
        out.text += "[unreadable]";
      }
    }
    return out.text.length > maxLineChars ? `${out.text.slice(0, maxLineChars)}…` : out.text;
  }

  const writer = (level: SandboxLogLine["level"]) =>
    function (...args: unknown[]): void {
      if (lines.length >= maxLines) {
        dropped++;
        return;
      }
      lines.push({ level, message: format(args) });
    };

  const console = {
    log: writer("log"),
    info: writer("info"),
    debug: writer("debug"),
    warn: writer("warn"),
    error: writer("error"),
    trace: writer("debug"),
    dir: writer("log"),
  };

  return {
    console,
    take() {
      const taken = lines;
      if (dropped > 0) taken.push({ level: "warn", message: `${dropped} more console lines dropped (limit: ${maxLines} per message)` });
      lines = [];
      dropped = 0;
      return taken;
    },
  };
}
