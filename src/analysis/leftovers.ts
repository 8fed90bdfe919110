import { readFileSync, renameSync, writeFileSync } from "node:fs";

/**
 * The analysis processes Sluice is running, on disk: `<data dir>/analysis-processes`, one line
 * per process, `<pid> <start time>` (the start time in clock ticks since boot, field 22 of
 * `/proc/<pid>/stat`) under a first line holding the boot id. Each analysis is the leader of its
 * own process group (started detached), so a process killed by Sluice takes its group along;
 * when Sluice itself dies (kill -9, a crash, an OOM kill) nothing does, and the process runs on
 * without limits. The preload ends a process whose parent is gone (process_guard.ts); a process
 * that never yields to its event loop cannot notice, so at its next start Sluice kills the
 * groups its ledger still lists: only those whose leader is the very process recorded (same
 * boot, same pid, same start time), never a pid reused since.
 *
 * Linux only (it needs /proc); elsewhere the ledger records nothing and kills nothing.
 */
export class ProcessLedger {
  private readonly running = new Map<number, string>();
  private readonly bootId = readBootId();

  constructor(private readonly file: string) {}

  /** Kills the process groups a previous Sluice left running; returns their pids. Call once, at start. */
  reapLeftovers(): number[] {
    const killed: number[] = [];
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch {
      return killed;
    }
    const [boot, ...lines] = text.split("\n");
    if (this.bootId !== undefined && boot === this.bootId) {
      for (const line of lines) {
        const [pidText, startTime] = line.split(" ");
        const pid = Number(pidText);
        if (!Number.isSafeInteger(pid) || pid <= 1 || startTime === undefined) continue;
        if (processStartTime(pid) !== startTime) continue; // gone, or another process now
        try {
          process.kill(-pid, "SIGKILL");
          killed.push(pid);
        } catch {
          // the group is gone already
        }
      }
    }
    this.save();
    return killed;
  }

  /** A process Sluice started (the leader of its own group). */
  add(pid: number): void {
    const startTime = processStartTime(pid);
    if (startTime === undefined || this.bootId === undefined) return;
    this.running.set(pid, startTime);
    this.save();
  }

  remove(pid: number): void {
    if (this.running.delete(pid)) this.save();
  }

  private save(): void {
    if (this.bootId === undefined) return;
    const lines = [this.bootId, ...[...this.running].map(([pid, start]) => `${pid} ${start}`)];
    const temp = `${this.file}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, `${lines.join("\n")}\n`, { mode: 0o600 });
      renameSync(temp, this.file);
    } catch {
      // best effort: the preload's parent watch still ends orphaned processes
    }
  }
}

function readBootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19]; // fields[0] is field 3 (state)
  } catch {
    return undefined;
  }
}
