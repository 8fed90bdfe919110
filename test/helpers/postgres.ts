/**
 * A private PostgreSQL for tests: its own data directory in a temp dir, its own port on
 * 127.0.0.1, its unix socket in that dir, trust authentication (loopback only), and
 * `fsync=off` / `full_page_writes=off`: a test's database is thrown away, so durability
 * against an OS crash buys nothing there. Never use these settings for real data
 * (docs/cluster.md says what production needs).
 *
 * PostgreSQL refuses to run as root: under root every binary runs as the `postgres` OS user
 * (Debian's package creates it), in a directory chowned to it; any other user runs them
 * directly. One instance per test file (`startPostgres`), one fresh database per test or
 * suite (`database()`, a CREATE DATABASE, cheap). `initdb` is the slow part (~2 s here), so
 * its output is kept once per machine, version and user under the temp dir and copied.
 *
 * The server runs under a small shell that stops it (fast shutdown) when its stdin closes, then
 * removes its directory: if the test process dies, the pipe closes and PostgreSQL and its files
 * go with it, no orphan left.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { freePort } from "./free_port.js";

export interface TestPostgres {
  /** The instance's `postgres` database (superuser `postgres`, no password). */
  url: string;
  port: number;
  /** A new empty database's URL (a name of its own each call). */
  database(): Promise<string>;
  /** CPU seconds the server's processes have used so far (benchmarks; Linux /proc). */
  cpuSeconds(): number;
  /**
   * Stops the server and removes its directory; with `keepData`, stops it only (as an outage
   * would), to be started again by `start()` on the same port and data.
   */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** Starts again a server stopped with `keepData`; resolves once it accepts connections. */
  start(): Promise<void>;
}

/** CLK_TCK on Linux. */
const TICKS = 100;

/** utime + stime of the postmaster and its live children, and what its ended children used (cutime + cstime). */
function processTreeCpu(postmaster: number): number {
  const fields = (pid: number | string) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  };
  // Fields after the name: [0] state, [1] ppid, ... [11] utime, [12] stime, [13] cutime, [14] cstime.
  const own = fields(postmaster);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const f = fields(pid);
      if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // Ended meanwhile.
    }
  }
  return ticks / TICKS;
}

/** Where PostgreSQL's programs are: PG_BIN, else the newest /usr/lib/postgresql/<n>/bin. */
export function postgresBin(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, "bin", "postgres"))) return join(root, v, "bin");
  return undefined;
}

const isRoot = process.getuid?.() === 0;

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

/** `command args` as the user PostgreSQL runs as. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  return isRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

function run(command: string, args: string[]): void {
  const [c, a] = asServerUser(command, args);
  execFileSync(c, a, { stdio: ["ignore", "ignore", "pipe"] });
}


/** A directory the server's user owns (under root: chowned to `postgres`). */
function serverDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (isRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  return dir;
}

/** An initdb'd data directory, made once and copied for each instance. */
function templateCluster(bin: string): string {
  const version = /\d+(\.\d+)*/.exec(execFileSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }))?.[0] ?? "unknown";
  const kept = join(tmpdir(), `sluice-pg-initdb-${version}-w1-${process.getuid?.() ?? "x"}`);
  if (existsSync(join(kept, "PG_VERSION"))) return kept;
  const work = serverDir("sluice-pg-initdb-");
  // C locale: byte order, as SQLite compares (the schema also says COLLATE "C" where order counts).
  // 1 MB WAL segments instead of 16: the copy made for each instance is 24 MB, not 39.
  run(join(bin, "initdb"), ["-D", join(work, "data"), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C", "--no-instructions", "--wal-segsize=1"]);
  try {
    // Atomic: another test file making it at the same time loses the rename, and uses this one.
    renameSync(join(work, "data"), kept);
  } catch {
    // Someone else's is in place.
  }
  rmSync(work, { recursive: true, force: true });
  return kept;
}

let databases = 0;

export interface StartOptions {
  /**
   * false (tests): fsync and full-page writes off, a thrown-away database needs no crash
   * durability. true (benchmarks): PostgreSQL's defaults, so a commit waits for the disk.
   */
  fsync?: boolean;
  /** Lets the test process exit while the server runs (it stops when the process's pipe closes). */
  unref?: boolean;
}

export async function startPostgres(options: StartOptions = {}): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error("PostgreSQL is not installed (apt-get install postgresql, or set PG_BIN)");
  const template = templateCluster(bin);
  const dir = serverDir("sluice-pg-");
  const data = join(dir, "data");
  // cp -a keeps the owner (postgres) and the 0700 mode initdb gave the directory.
  const [cp, cpArgs] = asServerUser("cp", ["-a", template, data]);
  execFileSync(cp, cpArgs);
  mkdirSync(join(dir, "run"), { recursive: true });
  if (isRoot) {
    const { uid, gid } = postgresUser();
    chownSync(join(dir, "run"), uid, gid);
  }
  const port = await freePort();
  const settings = [
    "-D", data, "-p", String(port), "-k", join(dir, "run"),
    "-c", "listen_addresses=127.0.0.1",
    // Tests only (see the file comment): a thrown-away database needs no crash durability.
    ...(options.fsync ? [] : ["-c", "fsync=off", "-c", "full_page_writes=off"]),
    "-c", "max_connections=200", "-c", "shared_buffers=64MB",
  ];
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // Each start (the first, and each `start()` after a `stop({ keepData: true })`) has its own
  // shell; the earlier ones stay, idle, until the final stop (their dir removal must not run early).
  const shells: Launched[] = [];
  const launch = async (): Promise<void> => {
    const launched = spawnServer(bin, dir, settings, options.unref === true);
    shells.push(launched);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        if (launched.child.exitCode !== null || Date.now() > deadline) {
          for (const s of shells) s.child.stdin!.end();
          rmSync(dir, { recursive: true, force: true });
          throw new Error(`PostgreSQL did not start on port ${port}:\n${launched.log()}`);
        }
        await sleep(30);
      }
    }
  };
  await launch();
  let stopped = false;
  let running = true;
  let postmaster = postmasterPid(data);
  return {
    url,
    port,
    cpuSeconds: () => processTreeCpu(postmaster),
    async database() {
      const name = `t${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE template0`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop(stopOptions = {}) {
      if (stopped) return;
      if (stopOptions.keepData) {
        if (!running) return;
        running = false;
        // Fast shutdown of this server only: its shell stays (idle) and the directory stays.
        const [k, kArgs] = asServerUser("kill", ["-INT", String(postmaster)]);
        execFileSync(k, kArgs);
        while (alive(postmaster)) await sleep(20);
        return;
      }
      stopped = true;
      // The newest shell stops the running server and removes the directory; the earlier ones find nothing left.
      for (const s of [...shells].reverse()) {
        s.child.stdin!.end();
        await Promise.race([s.exited, sleep(10_000)]);
        if (s.child.exitCode === null) s.child.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
    async start() {
      if (stopped) throw new Error("this PostgreSQL was stopped for good");
      if (running) return;
      await launch();
      running = true;
      postmaster = postmasterPid(data);
    },
  };
}

interface Launched {
  child: ChildProcess;
  exited: Promise<void>;
  log(): string;
}

/**
 * The server under a shell that stops it (fast shutdown) when its stdin closes, then removes
 * the instance's directory. `unref`: the test process may exit while it runs (the pipe closing
 * then stops it), for an instance shared by a whole test file and never stopped explicitly.
 */
function spawnServer(bin: string, dir: string, settings: string[], unref: boolean): Launched {
  // $0: the instance's directory, removed once the server is gone; $1: the server program.
  const script = 'dir="$0"; bin="$1"; shift; "$bin" "$@" & pid=$!; read _ || true; kill -INT "$pid" 2>/dev/null; wait "$pid"; rm -rf "$dir"';
  const [command, args] = asServerUser("sh", ["-c", script, dir, join(bin, "postgres"), ...settings]);
  const child: ChildProcess = spawn(command, args, { stdio: ["pipe", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (d: Buffer) => {
    if (log.length < 64 * 1024) log += d.toString();
  });
  if (unref) {
    child.unref();
    (child.stdin as Socket).unref();
    (child.stderr as Socket).unref();
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, exited, log: () => log };
}

function postmasterPid(data: string): number {
  return Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
}

/** A server stopped under its idle shell stays a zombie (nobody waits for it yet): that counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}
