import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * `<dataDir>/sluice.pid`: the process id of the server running on the data dir, written at
 * start and removed at shutdown, so that commands that must not run beside a server (`sluice
 * restore`) can tell. A server that crashed leaves it behind; its pid then names no live
 * process and the file counts for nothing. It is not a lock: a server never refuses to start
 * because of it (after a crash the pid may belong to some other process by now).
 */
export const PID_FILE = "sluice.pid";

/** Records this process as the data dir's server; the returned function takes it back (if still ours). */
export function writeServerPid(dataDir: string): () => void {
  const path = join(dataDir, PID_FILE);
  writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
  return () => {
    if (readPid(path) === process.pid) rmSync(path, { force: true });
  };
}

/** The pid of a live process recorded as the data dir's server, if any. */
export function runningServerPid(dataDir: string): number | undefined {
  const pid = readPid(join(dataDir, PID_FILE));
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

function readPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
