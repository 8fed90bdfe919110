#!/usr/bin/env node
import { SluiceError } from "../errors.js";
import { refuseDebugSignal } from "../observability/debug_signal.js";
import { printable } from "../observability/terminal.js";

// Before anything else loads: from here on a SIGUSR1 cannot open an inspector in this process.
refuseDebugSignal();

const usage = `usage: sluice <command>

  start [--config FILE] [--data-dir DIR] [--mqtt-port N] [--mqtts-port N] [--ws-port N]
        [--http-port N] [--allow-anonymous] [--tls-cert FILE] [--tls-key FILE]
        [--log-level LEVEL] [--log-format auto|json|pretty]
  device create --name N [--json] | device list | device delete ID
  token create DEVICE_ID [--permission full|write|read] [--expires ISO] | token list DEVICE_ID | token revoke TOKEN
  inspect DEVICE_ID [--kinds a,b] [--backlog N] [--json] [--no-color]   follow a device's live inspector
  backup FILE [--data-dir DIR] [--config FILE] [--no-secrets]   a consistent copy, while the server runs
  restore FILE [--data-dir DIR] [--config FILE] [--force] | restore FILE --check   into a stopped data dir

  device and token commands take --url URL and --token ACCOUNT_TOKEN (default: the local
  data dir's HTTP port and admin token; --data-dir DIR picks another data dir).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start":
      return (await import("./start.js")).runStart(rest);
    case "device":
      return (await import("./device.js")).runDevice(rest);
    case "token":
      return (await import("./token.js")).runToken(rest);
    case "inspect":
      return (await import("./inspect.js")).runInspect(rest);
    case "backup":
      return (await import("./backup.js")).runBackup(rest);
    case "restore":
      return (await import("./restore.js")).runRestore(rest);
    case undefined:
    case "help":
    case "--help":
      console.log(usage);
      return command === undefined ? 1 : 0;
    default:
      console.error(`unknown command "${command}"\n\n${usage}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== "start") process.exitCode = code;
  },
  (err: unknown) => {
    // A message may quote what a file or a server said (a crafted backup's metadata, SQLite's
    // words on it): one line, and nothing in it drives the terminal.
    console.error(err instanceof SluiceError ? `error (${err.code}): ${printable(err.message)}` : err);
    process.exitCode = 1;
  },
);
