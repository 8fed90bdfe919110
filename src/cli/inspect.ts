import type { InspectorEventJson } from "../inspector/serialize.js";
import { INSPECTOR_EVENT_KINDS, isInspectorEventKind } from "../inspector/kinds.js";
import { parseCommand, stringFlag, targetOptions, usageError, wantsJson } from "./command.js";
import { colorWanted, formatEventLine } from "./inspect_format.js";
import { resolveServerTarget } from "./local_server.js";
import { followSse } from "./sse_client.js";
import type { SseMessage } from "./sse_parser.js";

const USAGE = "usage: sluice inspect DEVICE_ID [--kinds a,b] [--backlog N] [--json] [--no-color]";

/**
 * `sluice inspect DEVICE_ID`: the device's live inspector in the terminal. Prints its recent
 * events, then follows new ones until Ctrl-C (exit code 0). `--json` prints each event as one
 * JSON line instead, for scripts.
 */
export async function runInspect(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, "inspect", ["kinds", "backlog"], ["no-color"]);
  if (parsed.positionals.length !== 1) throw usageError(USAGE);
  const deviceId = parsed.positionals[0]!;
  const kinds = parseKinds(stringFlag(parsed, "kinds"));
  const backlog = parseBacklog(stringFlag(parsed, "backlog"));
  const json = wantsJson(parsed);
  const color = !json && colorWanted(parsed.flags["no-color"] === true, process.env, process.stdout.isTTY === true);
  const target = await resolveServerTarget(targetOptions(parsed));

  const url = new URL(`${target.url}/device/${encodeURIComponent(deviceId)}/inspector/stream`);
  if (kinds !== undefined) url.searchParams.set("kinds", kinds.join(","));
  if (backlog !== undefined) url.searchParams.set("backlog", String(backlog));

  const stop = new AbortController();
  const interrupt = () => stop.abort();
  // Typically EPIPE, from `sluice inspect X | head` closing our stdout: with nowhere left to
  // print, stop following (an unhandled stream error would crash with a stack trace instead).
  const outputClosed = () => stop.abort();
  process.once("SIGINT", interrupt);
  process.stdout.on("error", outputClosed);
  try {
    await followSse({
      url,
      token: target.token,
      signal: stop.signal,
      onMessage: (message) => print(message, json, color),
      onReconnect: (reason, delayMs) => console.error(`inspect: connection lost (${reason}); reconnecting in ${delayMs / 1000} s`),
    });
  } finally {
    process.off("SIGINT", interrupt);
    process.stdout.off("error", outputClosed);
  }
  return 0;
}

function print(message: SseMessage, json: boolean, color: boolean): void {
  if (message.event !== "message") return;
  let event: InspectorEventJson;
  try {
    event = JSON.parse(message.data) as InspectorEventJson;
  } catch {
    console.error(`inspect: skipped an event that is not JSON (id ${message.id})`);
    return;
  }
  // Re-serialized so that each line is exactly one JSON value whatever the server's framing.
  process.stdout.write(`${json ? JSON.stringify(event) : formatEventLine(event, color)}\n`);
}

function parseKinds(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const kinds = value.split(",").map((kind) => kind.trim()).filter((kind) => kind !== "");
  const unknown = kinds.filter((kind) => !isInspectorEventKind(kind));
  if (unknown.length > 0) throw usageError(`unknown kind ${unknown.join(", ")}; kinds are ${INSPECTOR_EVENT_KINDS.join(", ")}`);
  return kinds.length === 0 ? undefined : kinds;
}

function parseBacklog(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 500) throw usageError("--backlog must be an integer from 0 to 500");
  return Number(value);
}
