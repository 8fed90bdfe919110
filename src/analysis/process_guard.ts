/**
 * Preloaded into every analysis process (`--import`), before the user's script: what an
 * analysis may not do to other processes. Node's permission model (on for every analysis)
 * already refuses child processes, workers, addons (`process.dlopen`), `process.binding` and
 * the inspector (`inspector.open`, and SIGUSR1 does not start it either), but not these, which
 * act on another process by pid:
 *
 * - `process._kill` (what `process.kill` calls): only the process itself may be signalled;
 *   pid 0 and negative pids (process groups) are refused as "others".
 * - `process._debugProcess(pid)`: sends SIGUSR1 to open the inspector of another Node process
 *   (Sluice's, another analysis's). Refused outright: an analysis has no use for it.
 * - `os.setPriority(pid, ...)`: only the process itself (pid 0 or its own pid); lowering its
 *   own priority is harmless, raising it needs a privilege an analysis does not have.
 * - `process.setuid` and its family: no analysis needs to change identity. Under an
 *   unprivileged user the kernel would refuse anyway; refused here too when it would not.
 *
 * Each replacement is non-writable and non-configurable, and the originals live only in this
 * module's scope, so a script cannot restore them: `require("os")`, `import os from "node:os"`,
 * `import { setPriority } from "node:os"` and `module.constructor._load("os")` all reach the
 * same patched export object (ESM named bindings are re-synced below).
 */
import { syncBuiltinESMExports } from "node:module";
import os from "node:os";

function denied(what: string): Error {
  return Object.assign(new Error(`Access to this API has been restricted: an analysis may not ${what}`), { code: "ERR_ACCESS_DENIED" });
}

function seal(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: false, configurable: false, enumerable: false });
}

// Node's internal halves of process.kill and the debugger signal, absent from the typings.
const internal = process as unknown as { _kill(pid: number, signal: number): number };
const originalKill = internal._kill.bind(process);
const isSelf = (pid: unknown) => Number(pid) === process.pid;

seal(process, "_kill", function guardedKill(pid: number, signal: number): number {
  if (!isSelf(pid)) throw denied("signal other processes");
  return originalKill(pid, signal);
});

seal(process, "_debugProcess", function guardedDebugProcess(): never {
  throw denied("put a process into debug mode");
});

for (const name of ["setuid", "setgid", "seteuid", "setegid", "setgroups", "initgroups"]) {
  if (name in process) {
    seal(process, name, function guardedIdentity(): never {
      throw denied("change its user or groups");
    });
  }
}

const originalSetPriority = os.setPriority.bind(os);
seal(os, "setPriority", function guardedSetPriority(pidOrPriority: number, priority?: number): void {
  // setPriority(priority) acts on the process itself; setPriority(pid, priority) on pid.
  if (priority === undefined) return originalSetPriority(pidOrPriority);
  if (Number(pidOrPriority) !== 0 && !isSelf(pidOrPriority)) throw denied("change the priority of other processes");
  return originalSetPriority(pidOrPriority, priority);
});

// ESM's `import { setPriority } from "node:os"` reads a namespace synced from the CJS export
// object only when asked: make it see the guard.
syncBuiltinESMExports();

export {};
