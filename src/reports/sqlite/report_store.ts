import type { Db } from "../../store/sqlite/open.js";
import { writeTransaction } from "../../store/sqlite/open.js";
import { deserializeDefinition, serializeDefinition, type LastRun, type ReportDefinition, type ReportRow } from "../report_model.js";

interface ReportRecord {
  id: string; account_id: string; name: string; definition: string;
  created_at: number; updated_at: number; last_run_at: number | null; last_status: string | null; last_message: string | null; last_files: string | null;
}

function toRow(r: ReportRecord): ReportRow {
  return {
    id: r.id, accountId: r.account_id, definition: deserializeDefinition(r.definition),
    createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at),
    lastRun: r.last_run_at === null ? null : {
      at: new Date(r.last_run_at), status: r.last_status === "ok" ? "ok" : "failed", message: r.last_message ?? "",
      files: r.last_files === null ? [] : (JSON.parse(r.last_files) as string[]),
    },
  };
}

/** Report definitions (migration 16). */
export class SqliteReportStore {
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

  insert(row: ReportRow): void {
    this.q.insert.run(row.id, row.accountId, row.definition.name, serializeDefinition(row.definition), row.createdAt.getTime(), row.updatedAt.getTime());
  }

  update(accountId: string, id: string, definition: ReportDefinition, at: Date): void {
    this.q.update.run(definition.name, serializeDefinition(definition), at.getTime(), accountId, id);
  }

  get(accountId: string, id: string): ReportRow | undefined {
    const r = this.q.get.get(accountId, id) as ReportRecord | undefined;
    return r && toRow(r);
  }

  list(accountId: string): ReportRow[] {
    return (this.q.list.all(accountId) as ReportRecord[]).map(toRow);
  }

  all(): ReportRow[] {
    return (this.q.all.all() as ReportRecord[]).map(toRow);
  }

  count(accountId: string): number {
    return (this.q.count.get(accountId) as { n: number }).n;
  }

  delete(accountId: string, id: string): boolean {
    return this.q.delete.run(accountId, id).changes > 0;
  }

  setLastRun(id: string, run: LastRun): void {
    this.q.lastRun.run(run.at.getTime(), run.status, run.message, JSON.stringify(run.files), id);
  }
}

export type FileKind = "report" | "attachment";

export interface StoredFileInfo {
  id: string;
  accountId: string;
  kind: FileKind;
  reportId: string | null;
  name: string;
  contentType: string;
  size: number;
  createdAt: Date;
}

interface FileRecord {
  id: string; account_id: string; kind: FileKind; report_id: string | null; name: string; content_type: string; size: number; created_at: number;
}

const FILE_COLUMNS = "id, account_id, kind, report_id, name, content_type, size, created_at";

function toFile(r: FileRecord): StoredFileInfo {
  return { id: r.id, accountId: r.account_id, kind: r.kind, reportId: r.report_id, name: r.name, contentType: r.content_type, size: r.size, createdAt: new Date(r.created_at) };
}

/**
 * The files an account keeps (report outputs, uploaded attachments), bounded in count and bytes
 * per account: adding one past either bound drops the account's oldest files first, in the same
 * transaction.
 */
export class SqliteFileStore {
  private readonly q;
  private readonly db: Db;

  constructor(db: Db, private readonly bounds: { maxFiles: number; maxBytes: number }) {
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

  /** Stores a file (its size already checked against `maxBytes`); returns the files dropped to make room. */
  add(file: StoredFileInfo, data: Buffer): StoredFileInfo[] {
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

  get(accountId: string, id: string): StoredFileInfo | undefined {
    const r = this.q.get.get(accountId, id) as FileRecord | undefined;
    return r && toFile(r);
  }

  data(accountId: string, id: string): Buffer | undefined {
    return (this.q.data.get(accountId, id) as { data: Buffer } | undefined)?.data;
  }

  ofReport(accountId: string, reportId: string): StoredFileInfo[] {
    return (this.q.ofReport.all(accountId, reportId) as FileRecord[]).map(toFile);
  }

  deleteOfReport(accountId: string, reportId: string): number {
    return this.q.deleteOfReport.run(accountId, reportId).changes;
  }
}
