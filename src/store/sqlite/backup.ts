/**
 * Sluice backups: one SQLite file made with SQLite's online backup API from the live
 * `sluice.db`, marked as a backup (`PRAGMA application_id`), carrying its schema version
 * (`PRAGMA user_version`, copied with the pages), a `sluice_backup` row and the data dir's
 * key files (`sluice_backup_files`). See docs/operations.md.
 */
import Database from "better-sqlite3";
import { SluiceError } from "../../errors.js";
import { schemaVersion, type Db } from "./open.js";

/** `PRAGMA application_id` of a Sluice backup: "SLCB" (an ordinary `sluice.db` has 0). */
export const BACKUP_APPLICATION_ID = 0x534c4342;
/** The layout of the backup's own tables; a reader refuses a newer one. */
export const BACKUP_FORMAT = 1;
/**
 * Pages copied per backup step (1 MB with 4 KB pages): a progress line per step at most, and
 * the event loop is given back between steps. The steps all read one snapshot (see backupDatabase).
 */
const PAGES_PER_STEP = 256;

export interface Progress {
  totalPages: number;
  remainingPages: number;
}

/** A file of the data dir kept in the backup beside the database. */
export interface DataDirFile {
  /** Relative to the data dir, `/`-separated. */
  path: string;
  content: Buffer;
}

/**
 * The data dir's files a restored server needs beside the database, and the only paths a
 * restore ever writes (a crafted backup cannot name another): the admin account's token
 * (the database holds only its hash), the key that seals relay credentials in the database
 * (relay/secrets.ts), and the self-signed TLS pair clients may have pinned (access/tls_material.ts).
 * `private`: written 0600.
 */
export const DATA_DIR_FILES: readonly { path: string; private: boolean }[] = [
  { path: "admin-token", private: true },
  { path: "relay-secret", private: true },
  { path: "tls/cert.pem", private: false },
  { path: "tls/key.pem", private: true },
];

export interface BackupInfo {
  format: number;
  schemaVersion: number;
  createdAt: string;
  sluiceVersion: string;
  sourceDir: string;
  pages: number;
  pageSize: number;
  files: string[];
}

const backupError = (message: string) => new SluiceError("BACKUP", message);

/**
 * Copies the database at `source` into a new file `dest` with SQLite's online backup API,
 * while a server may be writing to it, then marks the copy as a Sluice backup with `info` and
 * `files`. `dest` must exist (empty, made with the mode it should have) or be creatable.
 *
 * Consistency: the source connection opens a read transaction before the first step and keeps
 * it to the last, so every step reads the same WAL snapshot. Without it SQLite restarts a
 * backup from page 1 whenever another connection commits between two steps, and under steady
 * ingest a large backup would never finish. The writer is not blocked (WAL); checkpoints cannot
 * pass the snapshot meanwhile, so the WAL grows for the backup's duration.
 */
export async function backupDatabase(
  source: string,
  dest: string,
  meta: { sluiceVersion: string; sourceDir: string; files: DataDirFile[] },
  onProgress: (p: Progress) => void = () => {},
): Promise<BackupInfo> {
  let src: Db;
  try {
    src = new Database(source, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw backupError(`cannot open ${source}: ${(err as Error).message}`);
  }
  let schema: number;
  try {
    src.pragma("busy_timeout = 5000");
    src.exec("BEGIN");
    // The snapshot is taken at the first read, not at BEGIN.
    schema = src.pragma("user_version", { simple: true }) as number;
    src.prepare("SELECT count(*) FROM sqlite_schema").get();
    await src.backup(dest, {
      progress(p) {
        onProgress(p);
        return PAGES_PER_STEP;
      },
    });
    src.exec("COMMIT");
  } catch (err) {
    throw err instanceof SluiceError ? err : backupError(`backing up ${source} failed: ${(err as Error).message}`);
  } finally {
    src.close();
  }

  const out = new Database(dest, { fileMustExist: true });
  try {
    // The copy keeps the source's WAL flag; a backup is one self-contained file.
    out.pragma("journal_mode = DELETE");
    const info: BackupInfo = {
      format: BACKUP_FORMAT,
      schemaVersion: schema,
      createdAt: new Date().toISOString(),
      sluiceVersion: meta.sluiceVersion,
      sourceDir: meta.sourceDir,
      pages: 0,
      pageSize: out.pragma("page_size", { simple: true }) as number,
      files: meta.files.map((f) => f.path),
    };
    out.transaction(() => {
      out.exec(`
        CREATE TABLE sluice_backup (
          format INTEGER NOT NULL, schema_version INTEGER NOT NULL, created_at TEXT NOT NULL,
          sluice_version TEXT NOT NULL, source_dir TEXT NOT NULL
        );
        CREATE TABLE sluice_backup_files (path TEXT PRIMARY KEY, content BLOB NOT NULL);
      `);
      out.prepare("INSERT INTO sluice_backup VALUES (?, ?, ?, ?, ?)").run(info.format, info.schemaVersion, info.createdAt, info.sluiceVersion, info.sourceDir);
      const insert = out.prepare("INSERT INTO sluice_backup_files VALUES (?, ?)");
      for (const f of meta.files) insert.run(f.path, f.content);
      out.pragma(`application_id = ${BACKUP_APPLICATION_ID}`);
    })();
    info.pages = out.pragma("page_count", { simple: true }) as number;
    return info;
  } finally {
    out.close();
  }
}

/** An opened backup file, checked to be a Sluice backup this Sluice can restore. */
export class BackupFile {
  private constructor(
    private readonly db: Db,
    readonly file: string,
    readonly info: BackupInfo,
  ) {}

  /**
   * Refuses (SluiceError, one line) a file that is not a SQLite database, a SQLite database
   * that is not a Sluice backup, and a backup of a newer schema or backup format than this
   * Sluice knows. An older schema is fine: the server migrates it at start.
   */
  static open(file: string): BackupFile {
    const notBackup = (why: string) => backupError(`${file} is not a Sluice backup (${why})`);
    let db: Db;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw backupError(code === "SQLITE_CANTOPEN" ? `${file} does not exist or cannot be read` : `cannot open ${file}: ${(err as Error).message}`);
    }
    try {
      let appId: number;
      try {
        appId = db.pragma("application_id", { simple: true }) as number;
      } catch (err) {
        throw notBackup((err as { code?: string }).code === "SQLITE_NOTADB" ? "not a SQLite database" : (err as Error).message);
      }
      if (appId !== BACKUP_APPLICATION_ID) throw notBackup(appId === 0 ? "a SQLite database without Sluice's backup mark; a live sluice.db is not a backup" : `application_id ${appId}`);
      const row = db.prepare("SELECT * FROM sluice_backup").get() as
        | { format: number; schema_version: number; created_at: string; sluice_version: string; source_dir: string }
        | undefined;
      if (!row) throw notBackup("its sluice_backup table is empty");
      if (row.format > BACKUP_FORMAT) {
        throw backupError(`${file} is a backup in format ${row.format}, made by a newer Sluice (this one reads format ${BACKUP_FORMAT}): restore it with that version or later`);
      }
      const schema = db.pragma("user_version", { simple: true }) as number;
      if (schema > schemaVersion) {
        throw backupError(`${file} holds database schema ${schema}, newer than this Sluice's ${schemaVersion}: restore it with the Sluice that made it (${row.sluice_version}) or a later one`);
      }
      const files = (db.prepare("SELECT path FROM sluice_backup_files ORDER BY path").all() as { path: string }[]).map((r) => r.path);
      return new BackupFile(db, file, {
        format: row.format, schemaVersion: schema, createdAt: row.created_at, sluiceVersion: row.sluice_version, sourceDir: row.source_dir,
        pages: db.pragma("page_count", { simple: true }) as number, pageSize: db.pragma("page_size", { simple: true }) as number, files,
      });
    } catch (err) {
      db.close();
      throw err instanceof SluiceError ? err : notBackup((err as Error).message);
    }
  }

  /** SQLite's `quick_check` (`full`: `integrity_check`, slower); the problems found, none when sound. */
  check(full = false): string[] {
    const rows = this.db.pragma(full ? "integrity_check" : "quick_check") as { quick_check?: string; integrity_check?: string }[];
    const found = rows.map((r) => r.quick_check ?? r.integrity_check ?? "").filter((m) => m !== "ok");
    return found;
  }

  /** The data dir files the backup holds (only those in DATA_DIR_FILES are ever returned). */
  files(): DataDirFile[] {
    const known = new Set(DATA_DIR_FILES.map((f) => f.path));
    return (this.db.prepare("SELECT path, content FROM sluice_backup_files ORDER BY path").all() as { path: string; content: Buffer }[])
      .filter((r) => known.has(r.path))
      .map((r) => ({ path: r.path, content: r.content }));
  }

  /**
   * Writes the backup's database to `dest` (a new file) with the backup API, then takes the
   * backup's own tables and mark off it, leaving the database as the server wrote it.
   */
  async restoreDatabase(dest: string, onProgress: (p: Progress) => void = () => {}): Promise<void> {
    await this.db.backup(dest, {
      progress(p) {
        onProgress(p);
        return PAGES_PER_STEP;
      },
    });
    const out = new Database(dest, { fileMustExist: true });
    try {
      out.transaction(() => {
        out.exec("DROP TABLE sluice_backup; DROP TABLE sluice_backup_files;");
        out.pragma("application_id = 0");
      })();
      out.pragma("journal_mode = WAL");
    } finally {
      out.close();
    }
  }

  close(): void {
    this.db.close();
  }
}
