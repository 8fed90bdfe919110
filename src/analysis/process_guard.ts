/**
 * Preloaded into every analysis process (`--import`), before the user's script: what an
 * analysis may not do to other processes, and that it may not serve. Node's permission model
 * (on for every analysis) already refuses child processes, workers, addons (`process.dlopen`),
 * `process.binding` and the inspector (`inspector.open`, and SIGUSR1 does not start it either),
 * but not these:
 *
 * - `process._kill` (what `process.kill` calls): only the process itself may be signalled;
 *   pid 0 and negative pids (process groups) are refused as "others".
 * - `process._debugProcess(pid)`: sends SIGUSR1 to open the inspector of another Node process
 *   (Sluice's, another analysis's). Refused outright: an analysis has no use for it.
 * - `os.setPriority(pid, ...)`: only the process itself (pid 0 or its own pid); lowering its
 *   own priority is harmless, raising it needs a privilege an analysis does not have.
 * - `process.setuid` and its family: no analysis needs to change identity. Under an
 *   unprivileged user the kernel would refuse anyway; refused here too when it would not.
 * - Files the permission model lets through: trace events (`trace_events.createTracing`), V8
 *   flags (`v8.setFlagsFromString`: `--logfile`, `--prof`), and `process.chdir`, which picks
 *   where such files land.
 * - Listening: TCP and unix-socket `listen`, and a UDP bind to a port other than 0, fail with
 *   `EACCES` (on the libuv handles, so `net`, `http`, `dgram` alike). An analysis has no need
 *   to serve, and a port bound on 0.0.0.0 would answer the whole network.
 *
 * The script runs in the same realm after this module and may replace any built-in first
 * (`globalThis.Number`, `Function.prototype.apply`, `process.pid`...). So nothing here looks a
 * built-in up at call time: everything it calls is captured when the module loads, before the
 * script exists (own pid as a constant, `Reflect.apply`, the originals), each argument is
 * accepted only as a primitive (an object's `valueOf` could answer the check one thing and the
 * native call another) and that same primitive is what the original receives.
 *
 * Each replacement is non-writable and non-configurable, and the originals live only in this
 * module's scope, so a script cannot restore them: `require("os")`, `import os from "node:os"`,
 * `import { setPriority } from "node:os"` and `module.constructor._load("os")` all reach the
 * same patched export object (ESM named bindings are re-synced below).
 *
 * It also ends the process when Sluice is gone (see the end of this file).
 */
import dgram from "node:dgram";
import { syncBuiltinESMExports } from "node:module";
import net from "node:net";
import os from "node:os";
import traceEvents from "node:trace_events";
import v8 from "node:v8";

// Captured before the script runs; called only through these bindings.
const ReflectApply = Reflect.apply;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ErrorConstructor = Error;
const NumberIsInteger = Number.isInteger;
const SELF_PID: number = process.pid;
const UV_EACCES = -os.constants.errno.EACCES;
const UV_ESRCH = -os.constants.errno.ESRCH;
const SIGKILL = os.constants.signals.SIGKILL;
/** Digit values, in an object without a prototype: no lookup reaches anything the script owns. */
const DIGITS: Record<string, number | undefined> = { __proto__: null, 0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9 } as unknown as Record<string, number | undefined>;

function denied(what: string): Error {
  const error = new ErrorConstructor(`Access to this API has been restricted: an analysis may not ${what}`);
  ObjectDefineProperty(error, "code", { value: "ERR_ACCESS_DENIED", writable: true, configurable: true, enumerable: true });
  return error;
}

function seal(target: object, name: string, value: unknown): void {
  ObjectDefineProperty(target, name, { value, writable: false, configurable: false, enumerable: false });
}

/**
 * An int32 argument as a primitive, read once: a number, or a string of decimal digits (what
 * `process.kill("123")` accepts), parsed here without any built-in. Anything else (an object,
 * whose valueOf could change between the check and the use) is refused.
 */
function int32(value: unknown, what: string): number {
  let n: number;
  if (typeof value === "number") {
    n = value;
  } else if (typeof value === "string") {
    const negative = value.length > 0 && value[0] === "-";
    const start = negative ? 1 : 0;
    if (value.length === start || value.length - start > 10) throw denied(what);
    n = 0;
    for (let i = start; i < value.length; i++) {
      const digit = DIGITS[value[i]!];
      if (digit === undefined || digit < 0) throw denied(what);
      n = n * 10 + digit;
    }
    if (negative) n = -n;
  } else {
    throw denied(what);
  }
  if (!NumberIsInteger(n) || n !== (n | 0)) throw denied(what);
  return n;
}

// Node's internal halves of process.kill and the debugger signal, absent from the typings.
const internal = process as unknown as { _kill(pid: number, signal: number): number };
const originalKill = internal._kill;
const kill = (pid: number, signal: number): number => ReflectApply(originalKill, process, [pid, signal]) as number;

// process.kill validates `pid != (pid | 0)` and hands `_kill` the value it was given: an object
// whose valueOf answers differently on each call would pass one pid to the check and another
// to the kernel. Only a number is taken, and that number is what the kernel gets.
seal(process, "_kill", function guardedKill(pid: unknown, signal: unknown): number {
  const target = int32(pid, "signal other processes");
  const sig = int32(signal, "send that signal");
  if (target !== SELF_PID) throw denied("signal other processes");
  return kill(target, sig);
});

seal(process, "_debugProcess", function guardedDebugProcess(): never {
  throw denied("put a process into debug mode");
});

// Writers Node 20's permission model does not cover: trace events write `node_trace.*.log`
// into the working directory, and V8 flags such as `--logfile`/`--prof` write their own files.
// Without a user of its own, an analysis's folders belong to Sluice's user, so either would
// let a script fill the disk Sluice (and every account) writes to. Changing directory is
// refused too: nothing an analysis does needs it, and it picks where such files would land.
seal(traceEvents, "createTracing", function guardedCreateTracing(): never {
  throw denied("record trace events (they are written to files)");
});
seal(v8, "setFlagsFromString", function guardedSetFlags(): never {
  throw denied("change V8 flags");
});
seal(process, "chdir", function guardedChdir(): never {
  throw denied("change its working directory");
});

for (const name of ["setuid", "setgid", "seteuid", "setegid", "setgroups", "initgroups"]) {
  if (name in process) {
    seal(process, name, function guardedIdentity(): never {
      throw denied("change its user or groups");
    });
  }
}

const originalSetPriority = os.setPriority;
seal(os, "setPriority", function guardedSetPriority(pidOrPriority: unknown, priority?: unknown): void {
  // setPriority(priority) acts on the process itself; setPriority(pid, priority) on pid.
  if (priority === undefined) {
    const own = int32(pidOrPriority, "set a priority that is not a number");
    ReflectApply(originalSetPriority, os, [own]);
    return;
  }
  const pid = int32(pidOrPriority, "change the priority of other processes");
  const value = int32(priority, "set a priority that is not a number");
  if (pid !== 0 && pid !== SELF_PID) throw denied("change the priority of other processes");
  ReflectApply(originalSetPriority, os, [pid, value]);
});

// ESM's `import { setPriority } from "node:os"` reads a namespace synced from the CJS export
// object only when asked: make it see the guard.
syncBuiltinESMExports();

// --- No listening. The libuv handle classes are reached through sockets that never connect.
type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Replaces `proto[name]`; `writable` only where Node assigns the method itself. */
function refuseOn(proto: Record<string, unknown>, name: string, allowed: (args: unknown[]) => boolean, writable = false): void {
  const original = proto[name] as Method | undefined;
  if (typeof original !== "function") return;
  ObjectDefineProperty(proto, name, {
    value: function guarded(this: unknown, ...args: unknown[]) {
      return allowed(args) ? ReflectApply(original, this, args) : UV_EACCES;
    },
    writable,
    configurable: false,
    enumerable: false,
  });
}

const tcpProbe = new net.Socket();
tcpProbe.connect({ host: "sluice.invalid", port: 1, lookup: () => undefined });
const tcp = ObjectGetPrototypeOf((tcpProbe as unknown as { _handle: object })._handle) as Record<string, unknown>;
tcpProbe.destroy();
refuseOn(tcp, "listen", () => false);

// Unix sockets (Pipe): stdout's or stderr's handle is one when Sluice reads them through pipes.
for (const stream of [process.stdout, process.stderr]) {
  const handle = (stream as unknown as { _handle?: { constructor: { name: string } } })._handle;
  if (handle?.constructor.name === "Pipe") {
    refuseOn(ObjectGetPrototypeOf(handle) as Record<string, unknown>, "listen", () => false);
    break;
  }
}

// UDP: bind(address, port, flags) and bind6. Port 0 is what an unbound socket's first send
// asks for (an ephemeral port for the replies); any other port is a service. dgram assigns
// nothing to these, but they stay writable like the network guard's UDP methods.
const udpProbe = dgram.createSocket("udp4");
const udp = ObjectGetPrototypeOf((udpProbe as unknown as { _handle: object })._handle) as Record<string, unknown>;
udpProbe.close();
for (const name of ["bind", "bind6"]) refuseOn(udp, name, (a) => a[1] === 0, true);
// open(fd) would adopt a socket from elsewhere: an analysis has none to adopt.
refuseOn(udp, "open", () => false, true);
refuseOn(tcp, "open", () => false);

// --- Sluice gone, analysis gone. Sluice kills the process group at its limits; when Sluice
// itself dies (kill -9, a crash) nobody would, and the script would run without limits. The
// parent's pid is known now, before the script runs (and Sluice passes it, in case it died
// even before that); every 250 ms the original `_kill(parent, 0)` asks the kernel whether it
// still exists (ESRCH: gone; EPERM means it exists under another user, as under root). The
// interval is unref'd and its Timeout object is never exposed (timers are not among
// `process._getActiveHandles()`), so the script cannot clear it. A script that never yields
// starves this check: Sluice's ledger of process groups (leftovers.ts) kills those at its
// next start.
const expectedParent = Number.parseInt(process.env.SLUICE_PARENT_PID ?? "", 10);
delete process.env.SLUICE_PARENT_PID;
const parentAtLoad: number = process.ppid;
const parent = NumberIsInteger(expectedParent) && expectedParent > 1 ? expectedParent : parentAtLoad;
const parentGone = (): boolean => kill(parent, 0) === UV_ESRCH;
const setIntervalOriginal = setInterval;
if (parent !== parentAtLoad || parentGone()) kill(SELF_PID, SIGKILL);
const watch = setIntervalOriginal(() => {
  if (parentGone()) kill(SELF_PID, SIGKILL);
}, 250);
watch.unref();

export {};
