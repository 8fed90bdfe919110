/**
 * Rows of `reports` and `account_files` as both stores read them (the tables have the same
 * columns in SQLite and PostgreSQL, times in epoch ms), and back to the service's types.
 */
import { deserializeDefinition, type ReportRow } from "./report_model.js";
import type { FileKind, StoredFileInfo } from "./report_store.js";

export interface ReportRecord {
  id: string; account_id: string; name: string; definition: string;
  created_at: number; updated_at: number; last_run_at: number | null; last_status: string | null; last_message: string | null; last_files: string | null;
}

export function toReportRow(r: ReportRecord): ReportRow {
  return {
    id: r.id, accountId: r.account_id, definition: deserializeDefinition(r.definition),
    createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at),
    lastRun: r.last_run_at === null ? null : {
      at: new Date(r.last_run_at), status: r.last_status === "ok" ? "ok" : "failed", message: r.last_message ?? "",
      files: r.last_files === null ? [] : (JSON.parse(r.last_files) as string[]),
    },
  };
}

export interface FileRecord {
  id: string; account_id: string; kind: FileKind; report_id: string | null; name: string; content_type: string; size: number; created_at: number;
}

/** Every column but the body, which only `data()` reads. */
export const FILE_COLUMNS = "id, account_id, kind, report_id, name, content_type, size, created_at";

export function toStoredFile(r: FileRecord): StoredFileInfo {
  return { id: r.id, accountId: r.account_id, kind: r.kind, reportId: r.report_id, name: r.name, contentType: r.content_type, size: r.size, createdAt: new Date(r.created_at) };
}
