/**
 * Preloaded into every analysis process (`--import`), before the user's script. Node's
 * permission model bounds files, processes and workers but not signals, so without this a
 * script could `process.kill(process.ppid)` Sluice or another account's analysis. `process.kill`
 * goes through `process._kill`; replacing that with a guard that only lets a process signal
 * itself, non-writable and non-configurable, leaves the script no way to the original:
 * `process.binding` is refused under the permission model.
 */
// `_kill` is Node's internal half of process.kill, absent from the typings.
const internal = process as unknown as { _kill(pid: number, signal: number): number };
const original = internal._kill.bind(process);

function guardedKill(pid: number, signal: number): number {
  if (Number(pid) !== process.pid) {
    throw Object.assign(new Error("Access to this API has been restricted: an analysis may not signal other processes"), { code: "ERR_ACCESS_DENIED" });
  }
  return original(pid, signal);
}

Object.defineProperty(process, "_kill", { value: guardedKill, writable: false, configurable: false, enumerable: false });

export {};
