/**
 * Reports and the files accounts keep, in PostgreSQL (migration 7 of store/postgres/migrations.ts).
 * The same contract as the SQLite store (test/reports/report_store.test.ts); what differs is
 * that several nodes may write at once, which matters for the files' per-account bounds.
 */
import { all, one, transaction, type Pool } from "../../store/postgres/pool.js";
import { serializeDefinition, type LastRun, type ReportDefinition, type ReportRow } from "../report_model.js";
import { FILE_COLUMNS, toReportRow, toStoredFile, type FileRecord, type ReportRecord } from "../report_rows.js";
import type { FileBounds, FileStore, ReportStore, StoredFileInfo } from "../report_store.js";

/** Report definitions and their last run. */
export class PgReportStore implements ReportStore {
  constructor(private readonly pool: Pool) {}

  async insert(row: ReportRow): Promise<void> {
    // share_key stays NULL, as in SQLite: dashboard reports print through a key made per run.
    await this.pool.query("INSERT INTO reports (id, account_id, name, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
      [row.id, row.accountId, row.definition.name, serializeDefinition(row.definition), row.createdAt.getTime(), row.updatedAt.getTime()]);
  }

  async update(accountId: string, id: string, definition: ReportDefinition, at: Date): Promise<void> {
    await this.pool.query("UPDATE reports SET name = $1, definition = $2, updated_at = $3 WHERE account_id = $4 AND id = $5",
      [definition.name, serializeDefinition(definition), at.getTime(), accountId, id]);
  }

  async get(accountId: string, id: string): Promise<ReportRow | undefined> {
    const r = await one<ReportRecord>(this.pool, "SELECT * FROM reports WHERE account_id = $1 AND id = $2", [accountId, id]);
    return r && toReportRow(r);
  }

  async list(accountId: string): Promise<ReportRow[]> {
    return (await all<ReportRecord>(this.pool, "SELECT * FROM reports WHERE account_id = $1 ORDER BY created_at, id", [accountId])).map(toReportRow);
  }

  async all(): Promise<ReportRow[]> {
    return (await all<ReportRecord>(this.pool, "SELECT * FROM reports")).map(toReportRow);
  }

  async count(accountId: string): Promise<number> {
    return (await one<{ n: number }>(this.pool, "SELECT count(*) AS n FROM reports WHERE account_id = $1", [accountId]))!.n;
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM reports WHERE account_id = $1 AND id = $2", [accountId, id])).rowCount ?? 0) > 0;
  }

  async setLastRun(id: string, run: LastRun): Promise<void> {
    await this.pool.query("UPDATE reports SET last_run_at = $1, last_status = $2, last_message = $3, last_files = $4 WHERE id = $5",
      [run.at.getTime(), run.status, run.message, JSON.stringify(run.files), id]);
  }
}

/**
 * The advisory lock space of account files: with the account id's hash, one lock per account
 * (two accounts sharing a hash only wait for each other). Any 32-bit number, the same in every
 * Sluice.
 */
const FILES_LOCK_CLASS = 0x736c_6601;

/**
 * Drops the account's oldest files until the rest and a new file of $2 bytes fit the bounds
 * ($3 files, $4 bytes), in one statement: a file is dropped when the files older than it, dropped
 * too, would not make room. The same files as SQLite's loop (oldest first, one at a time).
 */
const MAKE_ROOM = `
  WITH files AS (
    SELECT id, size,
           count(*) OVER older AS n_through, sum(size) OVER older AS bytes_through,
           count(*) OVER () AS n, sum(size) OVER () AS bytes
    FROM account_files WHERE account_id = $1
    WINDOW older AS (ORDER BY created_at, rank ROWS UNBOUNDED PRECEDING)
  )
  DELETE FROM account_files f USING files
  WHERE f.id = files.id
    AND (files.n - (files.n_through - 1) + 1 > $3 OR files.bytes - (files.bytes_through - files.size) + $2 > $4)
  RETURNING ${FILE_COLUMNS.split(", ").map((c) => `f.${c}`).join(", ")}, f.rank`;

/**
 * The files an account keeps, bounded per account. Several nodes may add files for one account
 * at once: each add runs in a transaction holding the account's advisory lock, so the count and
 * bytes it reads are not changed under it before it commits (READ COMMITTED alone would let two
 * adds both see room for one more).
 */
export class PgFileStore implements FileStore {
  constructor(private readonly pool: Pool, private readonly bounds: FileBounds) {}

  async add(file: StoredFileInfo, data: Buffer): Promise<StoredFileInfo[]> {
    return transaction(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [FILES_LOCK_CLASS, file.accountId]);
      const dropped = await all<FileRecord & { rank: number }>(client, MAKE_ROOM, [file.accountId, data.length, this.bounds.maxFiles, this.bounds.maxBytes]);
      await client.query(
        "INSERT INTO account_files (id, account_id, kind, report_id, name, content_type, size, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [file.id, file.accountId, file.kind, file.reportId, file.name, file.contentType, data.length, data, file.createdAt.getTime()],
      );
      // RETURNING has no order of its own.
      dropped.sort((a, b) => a.created_at - b.created_at || a.rank - b.rank);
      return dropped.map(toStoredFile);
    });
  }

  async get(accountId: string, id: string): Promise<StoredFileInfo | undefined> {
    const r = await one<FileRecord>(this.pool, `SELECT ${FILE_COLUMNS} FROM account_files WHERE account_id = $1 AND id = $2`, [accountId, id]);
    return r && toStoredFile(r);
  }

  async data(accountId: string, id: string): Promise<Buffer | undefined> {
    return (await one<{ data: Buffer }>(this.pool, "SELECT data FROM account_files WHERE account_id = $1 AND id = $2", [accountId, id]))?.data;
  }

  async ofReport(accountId: string, reportId: string): Promise<StoredFileInfo[]> {
    const rows = await all<FileRecord>(this.pool,
      `SELECT ${FILE_COLUMNS} FROM account_files WHERE account_id = $1 AND report_id = $2 ORDER BY created_at DESC, rank DESC`, [accountId, reportId]);
    return rows.map(toStoredFile);
  }

  async deleteOfReport(accountId: string, reportId: string): Promise<number> {
    return (await this.pool.query("DELETE FROM account_files WHERE account_id = $1 AND report_id = $2", [accountId, reportId])).rowCount ?? 0;
  }
}
