/**
 * SIGUSR1 makes a Node process open its inspector (127.0.0.1:9229 unless `--inspect-port`
 * says otherwise), and whoever reaches that port can run code inside Sluice
 * (`Runtime.evaluate`). Any process of the same user can send it, `process._debugProcess(pid)`
 * included. A JavaScript listener for the signal replaces Node's own handling, so the
 * inspector never starts that way: the signal only leaves a warning. (Starting Sluice with
 * `--inspect` on purpose still works.)
 */
type Warn = (message: string) => void;

let warn: Warn = (message) => process.stderr.write(`${message}\n`);
let installed = false;

/** Idempotent; the latest `log` given is where the warning goes (the server's logger once it has one). */
export function refuseDebugSignal(log?: Warn): void {
  if (log) warn = log;
  if (installed) return;
  installed = true;
  process.on("SIGUSR1", () => warn("SIGUSR1 received and ignored: Sluice does not open its inspector on a signal"));
}
