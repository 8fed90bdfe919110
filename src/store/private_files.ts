import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";

/**
 * Modes of what holds secrets at rest: the data dir, the database, tokens and keys. Applied at
 * every start, not only when the file is made, because an earlier version, a restore from a
 * backup or an operator's `cp` leaves them readable by others, and a mode given to
 * `writeFile`/`mkdir` only applies to a file that does not exist yet.
 *
 * Only the data dir itself and the named files: never recursively, because `<dataDir>/analyses/`
 * is given its own modes (analyses may run as another user, see analysis/script_files.ts).
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Makes `path` (and missing parents) and sets it to 0700, whatever it was. */
export function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(path, PRIVATE_DIR_MODE);
}

/** Sets an existing file to 0600; false when there is no such file. */
export function privateFile(path: string): boolean {
  try {
    chmodSync(path, PRIVATE_FILE_MODE);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/**
 * A SQLite database file and its WAL companions, 0600. The file is created empty (0600) when
 * missing, so SQLite never makes it with its own 0644 default; SQLite gives the -wal and -shm
 * files it creates later the mode of the database file, and existing ones are fixed here.
 *
 * An existing database file is never opened here, only chmod-ed: closing any descriptor of a
 * file drops every POSIX lock this process holds on it, so opening and closing it while a
 * connection of this process has it open (the bucket store's, the writer thread's) would take
 * that connection's locks away from under it, and another process could then lock the file
 * as if no one had it open.
 */
export function privateDatabase(file: string): void {
  if (!privateFile(file)) {
    try {
      closeSync(openSync(file, "wx", PRIVATE_FILE_MODE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  for (const path of [file, `${file}-wal`, `${file}-shm`]) privateFile(path);
}
