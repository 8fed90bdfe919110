import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { SluiceError } from "../errors.js";
import { PRIVATE_DIR_MODE, privateDir } from "../store/private_files.js";
import { BackupFile, DATA_DIR_FILES } from "../store/sqlite/backup.js";
import { PID_FILE, runningServerPid } from "../store/server_pid.js";
import { schemaVersion } from "../store/sqlite/open.js";
import { refusePostgres } from "./backup.js";
import { localConfig, parseLocalCommand, positionals } from "./command.js";
import { printable } from "../observability/terminal.js";
import { formatBytes, pageProgress } from "./progress.js";

/**
 * `sluice restore FILE`: a `sluice backup` file back into a data dir no server runs on
 * (`--force` to replace a database there), or with `--check` only its checks, touching nothing.
 */
export async function runRestore(argv: string[]): Promise<number> {
  const parsed = parseLocalCommand(argv, "restore", ["config", "data-dir"], ["force", "check"]);
  const [file] = positionals(parsed, "restore", ["FILE"]);
  const backup = BackupFile.open(resolve(file!));
  try {
    const { info } = backup;
    // Every text here comes from the file, which may be crafted (and `--check` is how one vets
    // a file of unknown origin): escaped, so it cannot drive the terminal, hide the lines that
    // follow it or print a line of its own.
    const about = printable(
      `Sluice backup made ${info.createdAt} by Sluice ${info.sluiceVersion} from ${info.sourceDir}: database schema ${info.schemaVersion}, ` +
        `${info.pages} pages (${formatBytes(info.pages * info.pageSize)}), files: ${info.files.join(", ") || "none"}`,
    );
    if (parsed.flags.check === true) {
      console.log(about);
      const problems = backup.check(true);
      if (problems.length > 0) throw new SluiceError("BACKUP", `${file} fails SQLite's integrity check: ${problems[0]}`);
      console.log("integrity check: ok");
      return 0;
    }
    const config = localConfig(parsed);
    refusePostgres(config.postgres.url, "restore");
    return await restoreInto(backup, config.dataDir, parsed.flags.force === true, about);
  } finally {
    backup.close();
  }
}

async function restoreInto(backup: BackupFile, dataDir: string, force: boolean, about: string): Promise<number> {
  const database = join(dataDir, "sluice.db");
  const refuseRunning = () => {
    const pid = runningServerPid(dataDir);
    if (pid !== undefined) {
      throw new SluiceError(
        "SERVER_RUNNING",
        `a Sluice server (pid ${pid}) is running on ${dataDir}: stop it before restoring (if none is, remove ${join(dataDir, PID_FILE)})`,
      );
    }
  };
  refuseRunning();
  if (existsSync(database) && !force) {
    throw new SluiceError("BACKUP", `${dataDir} already holds a database: pass --force to replace it (and its key files) with the backup`);
  }
  const problems = backup.check();
  if (problems.length > 0) throw new SluiceError("BACKUP", `${backup.file} fails SQLite's quick check: ${problems[0]}`);

  privateDir(dataDir);
  const partial = join(dataDir, `sluice.db.restoring-${process.pid}`);
  closeSync(openSync(partial, "wx", 0o600));
  chmodSync(partial, 0o600);
  const progress = pageProgress("restore");
  try {
    await backup.restoreDatabase(partial, (p) => progress.update(p));
    progress.finish();
    // A server started meanwhile would have its database swapped under it.
    refuseRunning();
    // The replaced database's WAL must not be replayed onto the restored one.
    for (const suffix of ["-wal", "-shm", "-journal"]) rmSync(`${database}${suffix}`, { force: true });
    renameSync(partial, database);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }

  const restored: string[] = [];
  for (const { path, content } of backup.files()) {
    const target = join(dataDir, ...path.split("/"));
    if (dirname(target) !== dataDir) {
      mkdirSync(dirname(target), { recursive: true, mode: PRIVATE_DIR_MODE });
      chmodSync(dirname(target), PRIVATE_DIR_MODE);
    }
    const isPrivate = DATA_DIR_FILES.find((f) => f.path === path)!.private;
    const temp = `${target}.restoring-${process.pid}`;
    writeFileSync(temp, content, { mode: isPrivate ? 0o600 : 0o644 });
    chmodSync(temp, isPrivate ? 0o600 : 0o644);
    renameSync(temp, target);
    restored.push(path);
  }
  // The replaced server's ports; `sluice start` writes them anew.
  rmSync(join(dataDir, "ports.json"), { force: true });
  // Analysis scripts are copies of what the database holds, named by analysis id and code
  // version; a restored older database reuses versions, so the copies go (the SDK view stays).
  const analyses = join(dataDir, "analyses");
  if (existsSync(analyses)) {
    for (const name of readdirSync(analyses)) {
      if (name !== "node_modules") rmSync(join(analyses, name), { recursive: true, force: true });
    }
  }

  console.log(`restore: ${about}`);
  console.log(`restore: ${dataDir} now holds it${restored.length > 0 ? ` (with ${restored.join(", ")})` : ""}; start Sluice on it`);
  if (backup.info.schemaVersion < schemaVersion) {
    console.log(`restore: Sluice migrates the database from schema ${backup.info.schemaVersion} to ${schemaVersion} at its next start`);
  }
  const missing = DATA_DIR_FILES.filter((f) => f.path !== "tls/cert.pem" && !restored.includes(f.path)).map((f) => f.path);
  if (missing.length > 0) console.error(`restore: the backup has no ${missing.join(", ")}: see docs/operations.md for what that means`);
  return 0;
}
