import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MAX_LINE_BYTES } from "./console.js";

export interface ProcessLimits {
  timeoutMs: number;
  /** RLIMIT_CPU of the process, seconds (SIGXCPU, then SIGKILL a second later); 0 = none. */
  cpuSeconds: number;
  /** Resident memory bound, MiB; the V8 heap gets 3/4 of it. */
  memoryMb: number;
  outputBytes: number;
}

export interface ProcessSpec {
  nodePath: string;
  script: string;
  /** The only paths the process may read (Node's permission model); nothing may be written. */
  readable: string[];
  /** The whole environment of the process: nothing of Sluice's is inherited. */
  env: Record<string, string>;
  cwd: string;
  /** Run as this user and group (Sluice runs as root; workspace.ts). */
  runAs?: { uid: number; gid: number };
  /** False: the process may not connect to non-public addresses but Sluice's API (network_guard.ts). */
  allowPrivateTargets: boolean;
  /** Where running processes are recorded, so that a Sluice killed meanwhile kills them at its next start (leftovers.ts). */
  ledger?: { add(pid: number): void; remove(pid: number): void };
  /** This host's addresses, refused like private ones when `allowPrivateTargets` is false; default: every interface's, read at each run. */
  ownAddresses?: string[];
}

export type StopReason = "timeout" | "cpu" | "memory" | "output" | "shutdown";

export interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when Sluice stopped the process, or V8 did for lack of heap ("memory"). */
  stopped?: StopReason;
  durationMs: number;
  /** The process could not be started. */
  error?: string;
}

const RSS_POLL_MS = 100;
/** util-linux's prlimit (Essential on Debian): sets RLIMIT_CPU, then execs node in the same process. */
const PRLIMIT = ["/usr/bin/prlimit", "/bin/prlimit"].find((path) => existsSync(path));
/**
 * util-linux's setpriv: `--pdeathsig KILL` has the kernel SIGKILL the process when Sluice dies
 * (PR_SET_PDEATHSIG, set after the uid change and kept across exec). The preload's own watch
 * runs in the script's realm, where a script can reach its timer (async_hooks); this cannot be.
 */
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path));
/** Preloaded before the script: nothing that acts on other processes (process_guard.ts). */
const PROCESS_GUARD = fileURLToPath(new URL("./process_guard.js", import.meta.url));
/** Preloaded when private targets are refused (network_guard.ts), with the classifier it imports. */
const NETWORK_GUARD = fileURLToPath(new URL("./network_guard.js", import.meta.url));
const ADDRESS_POLICY = fileURLToPath(new URL("../outbound/address_policy.js", import.meta.url));
/** Preloaded last: the SDK's fixed TagoIO hosts (the PDF service) routed to Sluice (sdk_routes.ts). */
const SDK_ROUTES = fileURLToPath(new URL("./sdk_routes.js", import.meta.url));

/**
 * Runs one Node.js process under limits and hands its output over line by line. The process
 * runs with the permission model on: it reads only `readable` (its script and the SDK),
 * writes nothing, and may not start processes or workers. It is its own process group, so a
 * kill takes anything it managed to start with it. Limits: wall time, resident memory (V8
 * heap flag, plus a poll of /proc on Linux for memory outside the heap, such as Buffers),
 * output bytes.
 */
export function runProcess(spec: ProcessSpec, limits: ProcessLimits, onLine: (line: string) => void, abort?: AbortSignal): Promise<ProcessOutcome> {
  const started = Date.now();
  const heapMb = Math.max(16, Math.floor((limits.memoryMb * 3) / 4));
  const preloads = spec.allowPrivateTargets ? [PROCESS_GUARD, SDK_ROUTES] : [PROCESS_GUARD, NETWORK_GUARD, SDK_ROUTES];
  const readable = [...spec.readable, ...preloads, ...(spec.allowPrivateTargets ? [] : [ADDRESS_POLICY])];
  const args = [
    "--experimental-permission",
    ...readable.map((path) => `--allow-fs-read=${path}`),
    ...preloads.flatMap((path) => ["--import", pathToFileURL(path).href]),
    `--max-old-space-size=${heapMb}`,
    // The permission model's "experimental" warning would open every console.
    "--no-warnings",
    spec.script,
  ];
  return new Promise((resolvePromise) => {
    let stopped: StopReason | undefined;
    let outputLeft = limits.outputBytes;
    let heapExhausted = false;
    // Read by the preloads before the script runs, and removed from its environment: the pid
    // whose death ends the process (process_guard.ts) and, when private targets are refused,
    // this host's own addresses (network_guard.ts). The script could only change its own copy.
    const env = {
      ...spec.env,
      SLUICE_PARENT_PID: String(process.pid),
      ...(!spec.allowPrivateTargets && { SLUICE_OWN_ADDRESSES: (spec.ownAddresses ?? ownAddresses()).join(",") }),
    };
    // Each wrapper sets its part on itself, then execs the next in the same process.
    const command = [
      ...(SETPRIV !== undefined ? [SETPRIV, "--pdeathsig", "KILL", "--"] : []),
      ...(limits.cpuSeconds > 0 && PRLIMIT !== undefined ? [PRLIMIT, `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`, "--"] : []),
      spec.nodePath,
      ...args,
    ];
    const child = spawn(command[0]!, command.slice(1), { cwd: spec.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true, ...spec.runAs });
    if (child.pid !== undefined) spec.ledger?.add(child.pid);

    const kill = (reason: StopReason) => {
      stopped ??= reason;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL"); // the group is gone already; make sure of the process itself
      }
    };

    const splitter = (stream: NodeJS.ReadableStream) => {
      let pending = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        if (stopped === "output") return;
        const bytes = Buffer.byteLength(chunk);
        if (bytes > outputLeft) {
          chunk = Buffer.from(chunk).subarray(0, outputLeft).toString("utf8");
          outputLeft = 0;
          kill("output");
        } else {
          outputLeft -= bytes;
        }
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        if (pending.length > MAX_LINE_BYTES) {
          lines.push(pending);
          pending = "";
        }
        for (const line of lines) {
          if (line.includes("JavaScript heap out of memory")) heapExhausted = true;
          onLine(line.replace(/\r$/, ""));
        }
      });
      stream.on("end", () => {
        if (pending !== "") onLine(pending);
        pending = "";
      });
    };
    splitter(child.stdout!);
    splitter(child.stderr!);

    const timer = setTimeout(() => kill("timeout"), limits.timeoutMs);
    const rssLimitKb = limits.memoryMb * 1024;
    const poll = setInterval(() => {
      if (child.pid === undefined) return;
      void residentKb(child.pid).then((kb) => {
        if (kb !== undefined && kb > rssLimitKb) kill("memory");
      });
    }, RSS_POLL_MS);
    const onAbort = () => kill("shutdown");
    abort?.addEventListener("abort", onAbort, { once: true });

    let spawnError: string | undefined;
    child.on("error", (err) => {
      spawnError = err.message;
    });
    child.on("close", (code, signal) => {
      if (child.pid !== undefined) spec.ledger?.remove(child.pid);
      clearTimeout(timer);
      clearInterval(poll);
      abort?.removeEventListener("abort", onAbort);
      // V8 aborts the process itself when the heap is exhausted.
      if (stopped === undefined && heapExhausted) stopped = "memory";
      // The kernel's RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one.
      if (stopped === undefined && signal === "SIGXCPU") stopped = "cpu";
      resolvePromise({ code, signal, durationMs: Date.now() - started, ...(stopped && { stopped }), ...(spawnError !== undefined && { error: spawnError }) });
    });
  });
}

/** Every address of this host's interfaces (read at each run: they change). */
function ownAddresses(): string[] {
  const found: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) found.push(info.address.replace(/%.*$/, ""));
  }
  return found;
}

/** VmRSS of a process from /proc, in kB; undefined where /proc is not (not Linux) or the process is gone. */
async function residentKb(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  const match = status && /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) : undefined;
}
