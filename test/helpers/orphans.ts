import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Alive and not a zombie. */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Whether `pid` stopped running within `withinMs`. */
export async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!running(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !running(pid);
}

const RUNNER = pathToFileURL(fileURLToPath(new URL("../../src/analysis/process_runner.js", import.meta.url))).href;

/**
 * A stand-in for Sluice: a process that runs `script` (which must print "pid <its pid>")
 * through the real runner; resolves with the stand-in and the analysis's pid.
 */
export async function runUnderStandIn(script: string, dir: string, options: { allowPrivateTargets: boolean; cpuSeconds: number }): Promise<{ parent: ChildProcess; pid: number }> {
  const parent = spawn(process.execPath, ["--input-type=module", "-e", `
    import { runProcess } from ${JSON.stringify(RUNNER)};
    runProcess({ nodePath: process.execPath, script: ${JSON.stringify(script)}, readable: [${JSON.stringify(dir)}], env: {}, cwd: ${JSON.stringify(dir)}, allowPrivateTargets: ${options.allowPrivateTargets} },
      { timeoutMs: 60000, cpuSeconds: ${options.cpuSeconds}, memoryMb: 256, outputBytes: 65536 }, (line) => console.log(line));`], { stdio: ["ignore", "pipe", "inherit"] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = "";
    parent.stdout!.on("data", (d: Buffer) => {
      out += d;
      const match = /pid (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    parent.on("exit", () => reject(new Error(`the runner exited: ${out}`)));
  });
  return { parent, pid };
}
