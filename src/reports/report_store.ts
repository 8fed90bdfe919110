/**
 * Where reports and the files accounts keep are stored: SQLite (`sqlite/report_store.ts`) or
 * PostgreSQL (`postgres/report_store.ts`), the same contract (test/reports/report_store.test.ts).
 * Promises throughout: PostgreSQL answers asynchronously.
 */
import type { LastRun, ReportDefinition, ReportRow } from "./report_model.js";

/** Report definitions and their last run. */
export interface ReportStore {
  insert(row: ReportRow): Promise<void>;
  update(accountId: string, id: string, definition: ReportDefinition, at: Date): Promise<void>;
  get(accountId: string, id: string): Promise<ReportRow | undefined>;
  /** The account's reports, oldest first. */
  list(accountId: string): Promise<ReportRow[]>;
  /** Every account's reports (schedules are armed from them at start). */
  all(): Promise<ReportRow[]>;
  count(accountId: string): Promise<number>;
  delete(accountId: string, id: string): Promise<boolean>;
  setLastRun(id: string, run: LastRun): Promise<void>;
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

/** What one account may keep (`reports.maxFilesPerAccount`, `reports.maxFileBytesPerAccount`). */
export interface FileBounds {
  maxFiles: number;
  maxBytes: number;
}

/**
 * The files an account keeps (report outputs, uploaded attachments), bounded in count and bytes
 * per account: adding one past either bound drops the account's oldest files first, in the same
 * transaction, so the bounds hold whoever writes (several nodes included).
 */
export interface FileStore {
  /** Stores a file (its size already checked against `maxBytes`); returns the files dropped to make room, oldest first. */
  add(file: StoredFileInfo, data: Buffer): Promise<StoredFileInfo[]>;
  get(accountId: string, id: string): Promise<StoredFileInfo | undefined>;
  data(accountId: string, id: string): Promise<Buffer | undefined>;
  /** A report's files, newest first. */
  ofReport(accountId: string, reportId: string): Promise<StoredFileInfo[]>;
  deleteOfReport(accountId: string, reportId: string): Promise<number>;
}
