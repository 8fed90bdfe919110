import type { Db } from "../../store/sqlite/open.js";
import { writeTransaction } from "../../store/sqlite/open.js";
import { serializeDefinition, type LastRun, type ReportDefinition, type ReportRow } from "../report_model.js";
import { FILE_COLUMNS, toReportRow as toRow, toStoredFile as toFile, type FileRecord, type ReportRecord } from "../report_rows.js";
import type { FileBounds, FileStore, ReportStore, StoredFileInfo } from "../report_store.js";

/** Report definitions (migration 16). */
export class SqliteReportStore implements ReportStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      // share_key (migration 16) stays NULL: dashboard reports print through a key made per run
      // (dashboards/print_grants.ts), never a stored one.
      insert: db.prepare("INSERT INTO reports (id, account_id, name, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"),
      update: db.prepare("UPDATE reports SET name = ?, definition = ?, updated_at = ? WHERE account_id = ? AND id = ?"),
      get: db.prepare("SELECT * FROM reports WHERE account_id = ? AND id = ?"),
      list: db.prepare("SELECT * FROM reports WHERE account_id = ? ORDER BY created_at, id"),
      all: db.prepare("SELECT * FROM reports"),
      count: db.prepare("SELECT count(*) AS n FROM reports WHERE account_id = ?"),
      delete: db.prepare("DELETE FROM reports WHERE account_id = ? AND id = ?"),
      lastRun: db.prepare("UPDATE reports SET last_run_at = ?, last_status = ?, last_message = ?, last_files = ? WHERE id = ?"),
    };
  }

  async insert(row: ReportRow): Promise<void> {
    this.q.insert.run(row.id, row.accountId, row.definition.name, serializeDefinition(row.definition), row.createdAt.getTime(), row.updatedAt.getTime());
  }

  async update(accountId: string, id: string, definition: ReportDefinition, at: Date): Promise<void> {
    this.q.update.run(definition.name, serializeDefinition(definition), at.getTime(), accountId, id);
  }

  async get(accountId: string, id: string): Promise<ReportRow | undefined> {
    const r = this.q.get.get(accountId, id) as ReportRecord | undefined;
    return r && toRow(r);
  }

  async list(accountId: string): Promise<ReportRow[]> {
    return (this.q.list.all(accountId) as ReportRecord[]).map(toRow);
  }

  async all(): Promise<ReportRow[]> {
    return (this.q.all.all() as ReportRecord[]).map(toRow);
  }

  async count(accountId: string): Promise<number> {
    return (this.q.count.get(accountId) as { n: number }).n;
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    return this.q.delete.run(accountId, id).changes > 0;
  }

  async setLastRun(id: string, run: LastRun): Promise<void> {
    this.q.lastRun.run(run.at.getTime(), run.status, run.message, JSON.stringify(run.files), id);
  }
}

/** The files an account keeps, bounded per account (`FileStore`); SQLite has one writer, its transaction is enough. */
export class SqliteFileStore implements FileStore {
  private readonly q;
  private readonly db: Db;

  constructor(db: Db, private readonly bounds: FileBounds) {
    this.db = db;
    this.q = {
      insert: db.prepare(`INSERT INTO account_files (id, account_id, kind, report_id, name, content_type, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      usage: db.prepare("SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM account_files WHERE account_id = ?"),
      oldest: db.prepare(`SELECT ${FILE_COLUMNS} FROM account_files WHERE account_id = ? ORDER BY created_at, rowid LIMIT 1`),
      deleteOne: db.prepare("DELETE FROM account_files WHERE id = ?"),
      get: db.prepare(`SELECT ${FILE_COLUMNS} FROM account_files WHERE account_id = ? AND id = ?`),
      data: db.prepare("SELECT data FROM account_files WHERE account_id = ? AND id = ?"),
      ofReport: db.prepare(`SELECT ${FILE_COLUMNS} FROM account_files WHERE account_id = ? AND report_id = ? ORDER BY created_at DESC, rowid DESC`),
      deleteOfReport: db.prepare("DELETE FROM account_files WHERE account_id = ? AND report_id = ?"),
    };
  }

  async add(file: StoredFileInfo, data: Buffer): Promise<StoredFileInfo[]> {
    return writeTransaction(this.db, () => {
      const dropped: StoredFileInfo[] = [];
      for (;;) {
        const usage = this.q.usage.get(file.accountId) as { n: number; bytes: number };
        if (usage.n + 1 <= this.bounds.maxFiles && usage.bytes + data.length <= this.bounds.maxBytes) break;
        const oldest = this.q.oldest.get(file.accountId) as FileRecord | undefined;
        if (!oldest) break;
        this.q.deleteOne.run(oldest.id);
        dropped.push(toFile(oldest));
      }
      this.q.insert.run(file.id, file.accountId, file.kind, file.reportId, file.name, file.contentType, data.length, data, file.createdAt.getTime());
      return dropped;
    })();
  }

  async get(accountId: string, id: string): Promise<StoredFileInfo | undefined> {
    const r = this.q.get.get(accountId, id) as FileRecord | undefined;
    return r && toFile(r);
  }

  async data(accountId: string, id: string): Promise<Buffer | undefined> {
    return (this.q.data.get(accountId, id) as { data: Buffer } | undefined)?.data;
  }

  async ofReport(accountId: string, reportId: string): Promise<StoredFileInfo[]> {
    return (this.q.ofReport.all(accountId, reportId) as FileRecord[]).map(toFile);
  }

  async deleteOfReport(accountId: string, reportId: string): Promise<number> {
    return this.q.deleteOfReport.run(accountId, reportId).changes;
  }
}
