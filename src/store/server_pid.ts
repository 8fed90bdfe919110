import { readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SluiceError } from "../errors.js";

/**
 * `<dataDir>/sluice.pid`: the process id of the server running on the data dir, written at
 * start (once its database is open) and removed at shutdown, so that what must not run beside
 * a server can tell: `sluice restore`, and a second `sluice start` on the same data dir, which
 * is refused before it touches anything (it would otherwise take the ledger of analysis
 * processes for leftovers of a crash and kill the running server's analyses, and on its way
 * out remove this file, after which a restore would replace the database under the running
 * server). A server that crashed leaves the file behind; its pid then names no live process,
 * or on Linux a process that does not hold the data dir's database open (the pid was reused),
 * and the file counts for nothing.
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

/** Refuses (SERVER_RUNNING) to start a server on a data dir another live process serves. */
export function refuseSecondServer(dataDir: string): void {
  const pid = runningServerPid(dataDir);
  if (pid === undefined || pid === process.pid) return;
  throw new SluiceError(
    "SERVER_RUNNING",
    `a Sluice server (pid ${pid}) is already running on ${dataDir}: stop it first, or give this one another --data-dir (if none runs there, remove ${join(dataDir, PID_FILE)})`,
  );
}

/** The pid of a live process recorded as the data dir's server, if any. */
export function runningServerPid(dataDir: string): number | undefined {
  const pid = readPid(join(dataDir, PID_FILE));
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
  return holdsDatabase(pid, dataDir) === false ? undefined : pid;
}

/**
 * Whether process `pid` has the data dir's `sluice.db` open (Linux: its `/proc/<pid>/fd`
 * links); undefined when that cannot be told (no /proc, another user's process, no database).
 */
function holdsDatabase(pid: number, dataDir: string): boolean | undefined {
  let database: string;
  let fds: string[];
  try {
    database = realpathSync(join(dataDir, "sluice.db"));
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === database) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
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
