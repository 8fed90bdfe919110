import { resolve } from "node:path";
import { loadConfig } from "../config/load.js";
import { SluiceError } from "../errors.js";
import { parseArgs, type ParsedArgs } from "./args.js";
import type { TargetOptions } from "./local_server.js";

/** Flags every device/token command takes: where the server is, as whom, and output format. */
const COMMON_FLAGS = ["url", "token", "data-dir", "json"] as const;

export const usageError = (message: string) => new SluiceError("USAGE", message);

/**
 * Parses a sub-command's arguments and rejects flags it does not know, so that a typo such as
 * `--permision read` fails instead of silently creating a full-permission token.
 */
export function parseCommand(argv: string[], command: string, flags: readonly string[], switches: readonly string[] = []): ParsedArgs {
  // Switches take no value, so `--no-color ID` leaves ID a positional.
  const parsed = parseArgs(argv, ["json", ...switches]);
  const allowed = new Set<string>([...COMMON_FLAGS, ...flags, ...switches]);
  for (const name of Object.keys(parsed.flags)) {
    if (!allowed.has(name)) throw usageError(`${command}: unknown flag --${name}`);
  }
  return parsed;
}

export function stringFlag(parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.flags[name];
  if (value === true) throw usageError(`--${name} needs a value`);
  return value === false ? undefined : value;
}

export function targetOptions(parsed: ParsedArgs): TargetOptions {
  return { url: stringFlag(parsed, "url"), token: stringFlag(parsed, "token"), dataDir: stringFlag(parsed, "data-dir") };
}

/**
 * Parses a command that works on the data dir itself (backup, restore): only `flags` and
 * `switches` are known, not the HTTP ones every device/token command takes.
 */
export function parseLocalCommand(argv: string[], command: string, flags: readonly string[], switches: readonly string[] = []): ParsedArgs {
  const parsed = parseArgs(argv, switches);
  const allowed = new Set<string>([...flags, ...switches]);
  for (const name of Object.keys(parsed.flags)) {
    if (!allowed.has(name)) throw usageError(`${command}: unknown flag --${name}`);
  }
  return parsed;
}

/**
 * The data dir and configuration as `sluice start` finds them with the same `--config` and
 * `--data-dir` (and SLUICE_DATA_DIR, and the config file's `dataDir`), the dir made absolute.
 */
export function localConfig(parsed: ParsedArgs): ReturnType<typeof loadConfig> {
  const config = loadConfig({ configFile: stringFlag(parsed, "config"), flags: { "data-dir": stringFlag(parsed, "data-dir") } });
  return { ...config, dataDir: resolve(config.dataDir) };
}

export const wantsJson = (parsed: ParsedArgs): boolean => parsed.flags.json === true;

/** The positionals a command takes, exactly; `names` label them in the error message. */
export function positionals(parsed: ParsedArgs, command: string, names: readonly string[]): string[] {
  if (parsed.positionals.length !== names.length) {
    throw usageError(names.length === 0 ? `sluice ${command} takes no arguments` : `usage: sluice ${command} ${names.join(" ")}`);
  }
  return parsed.positionals;
}

/** Left-aligned columns separated by two spaces, with a header row. */
export function formatTable(headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
