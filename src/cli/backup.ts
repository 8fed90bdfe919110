import { chmodSync, closeSync, existsSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { SluiceError } from "../errors.js";
import { packageVersion } from "../http/routes/status.js";
import { backupDatabase, DATA_DIR_FILES, type BackupInfo, type DataDirFile } from "../store/sqlite/backup.js";
import { localConfig, parseLocalCommand, positionals } from "./command.js";
import { formatBytes, pageProgress } from "./progress.js";

/**
 * `sluice backup FILE`: a consistent copy of the data dir's database, taken with SQLite's
 * online backup API while the server runs (or not), plus the data dir's key files, in one
 * SQLite file of mode 0600. Opens the database file itself rather than asking the server:
 * see docs/operations.md for why.
 */
export async function runBackup(argv: string[]): Promise<number> {
  const parsed = parseLocalCommand(argv, "backup", ["config", "data-dir"], ["no-secrets"]);
  const [file] = positionals(parsed, "backup", ["FILE"]);
  const config = localConfig(parsed);
  const dataDir = config.dataDir;
  refusePostgres(config.postgres.url, "backup");
  const database = join(dataDir, "sluice.db");
  if (!existsSync(database)) {
    throw new SluiceError("BACKUP", `${database} does not exist: is ${dataDir} a Sluice data dir? (pick it with --data-dir or --config)`);
  }
  const dest = resolve(file!);
  if (!existsSync(dirname(dest))) throw new SluiceError("BACKUP", `${dirname(dest)} does not exist`);
  const destReal = join(realpathSync(dirname(dest)), basename(dest));
  const dbReal = realpathSync(database);
  if ([dbReal, `${dbReal}-wal`, `${dbReal}-shm`, `${dbReal}-journal`].includes(destReal)) {
    throw new SluiceError("BACKUP", `${file} is the live database itself: write the backup elsewhere`);
  }

  const withSecrets = parsed.flags["no-secrets"] !== true;
  const files: DataDirFile[] = [];
  if (withSecrets) {
    for (const { path } of DATA_DIR_FILES) {
      const full = join(dataDir, ...path.split("/"));
      if (existsSync(full)) files.push({ path, content: readFileSync(full) });
    }
  }

  // Written beside FILE and renamed over it when complete: FILE is never a half backup, and an
  // earlier backup of the same name stays until the new one is whole.
  const partial = `${dest}.partial-${process.pid}`;
  closeSync(openSync(partial, "wx", 0o600));
  chmodSync(partial, 0o600); // whatever the umask
  const started = process.hrtime.bigint();
  const progress = pageProgress("backup");
  let info: BackupInfo;
  try {
    info = await backupDatabase(database, partial, { sluiceVersion: packageVersion(), sourceDir: dataDir, files }, (p) => progress.update(p));
    progress.finish();
    renameSync(partial, dest);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `backup: ${dest} written, ${formatBytes(statSync(dest).size)} (${info.pages} pages), database schema ${info.schemaVersion}, in ${seconds.toFixed(2)} s`,
  );
  if (withSecrets) {
    console.error(`backup: it holds ${files.map((f) => f.path).join(", ") || "no key files"} and the database's token hashes and data: keep it as private as the data dir (it is mode 0600)`);
  } else {
    console.error("backup: --no-secrets: no admin-token, relay-secret or TLS files; a restored server needs them put back by hand (docs/operations.md)");
  }
  if (config.relaySecret !== "") console.error("backup: relaySecret is set in the configuration: the relay credentials in this backup need that same secret");
  if (config.tlsCert !== undefined) console.error("backup: the configured TLS certificate and key (tlsCert, tlsKey) are not in the backup");
  return 0;
}

/**
 * A node on PostgreSQL (`--store`) keeps no database in its data dir: its data is backed up
 * with PostgreSQL's own tools (pg_dump, or the server's base backups), not by this command.
 */
export function refusePostgres(storeUrl: string, command: "backup" | "restore"): void {
  if (storeUrl === "") return;
  throw new SluiceError(command.toUpperCase(), `this node stores its data in PostgreSQL (postgres.url / --store / SLUICE_STORE): \`sluice ${command}\` works on the SQLite data dir only; use pg_dump and pg_restore (docs/operations.md)`);
}
