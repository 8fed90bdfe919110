// Reads broker resource usage straight from procfs: it is the only way to observe a process
// we did not write (Mosquitto) with the same yardstick as our own.
import { readFileSync } from "node:fs";

/** USER_HZ on every Linux ABI Node supports; /proc/<pid>/stat reports CPU time in these ticks. */
const CLOCK_TICKS_PER_S = 100;

/** Resident set size in KiB, or null when the process is gone. */
export function rssKb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] !== undefined ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds consumed so far by all threads of the process, or null when gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses, so split after its closing one.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the name, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/**
 * Busy CPU seconds of the whole machine so far (all CPUs, everything but idle and iowait).
 * Subtracting broker and generator shows how much else was running during a measurement.
 */
export function hostBusySeconds(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...; guest time is already inside user.
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return (total - idle) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/**
 * Resolves once the process has used less than `maxCpu` of a core over `windowMs`, i.e. it has
 * worked through whatever a previous phase left queued in its sockets. Returns the time waited,
 * or null if it was still busy at the deadline (or gone).
 */
export async function waitUntilIdle(pid: number, timeoutMs: number, maxCpu = 0.05, windowMs = 250): Promise<number | null> {
  const started = Date.now();
  let before = cpuSeconds(pid);
  while (before !== null && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = cpuSeconds(pid);
    if (after === null) return null;
    if (after - before <= (maxCpu * windowMs) / 1000) return Date.now() - started;
    before = after;
  }
  return null;
}
