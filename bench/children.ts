// Every process the benchmark starts is registered here and killed when the benchmark ends,
// however it ends: a stray broker would hold ports and skew the next run.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { rmSync } from "node:fs";

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let installed = false;

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
}

/** Optionally prefixed with `taskset -c <cpus>` so the caller can keep broker and generator apart. */
export function startChild(command: string, args: string[], options: SpawnOptions, cpus?: string): ChildProcess {
  install();
  const child =
    cpus === undefined ? spawn(command, args, options) : spawn("taskset", ["-c", cpus, command, ...args], options);
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Stops a child politely, then forcibly; resolves once it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export function registerTempDir(dir: string): void {
  install();
  tempDirs.add(dir);
}

export function releaseTempDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}
