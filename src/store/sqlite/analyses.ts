import type { AnalysisRow, KeyValue, ModuleKind, RunOn } from "../../analysis/model.js";
import type { AnalysisStore, NewAnalysisToken } from "../../analysis/store.js";
import type { Db } from "./open.js";
import { writeTransaction } from "./open.js";

interface AnalysisRecord {
  id: string; account_id: string; name: string; description: string | null; active: number; run_on: RunOn;
  variables: string; tags: string; token: string; token_id: string; file_name: string | null;
  module: ModuleKind | null; code_version: number; last_run: number | null; created_at: number; updated_at: number;
}

// Every column but the script, which only the runner reads.
const COLUMNS = "a.id, a.account_id, a.name, a.description, a.active, a.run_on, a.variables, a.tags, a.token, a.token_id, a.file_name, a.module, a.code_version, a.last_run, a.created_at, a.updated_at";

function toRow(r: AnalysisRecord): AnalysisRow {
  return {
    id: r.id, accountId: r.account_id, name: r.name, description: r.description, active: r.active === 1, runOn: r.run_on,
    variables: JSON.parse(r.variables) as KeyValue[], tags: JSON.parse(r.tags) as KeyValue[], token: r.token, tokenId: r.token_id,
    fileName: r.file_name, module: r.module, codeVersion: r.code_version, lastRun: r.last_run === null ? null : new Date(r.last_run),
    createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at),
  };
}

/** Analyses in SQLite (migration 6), with their account token rows in account_tokens. */
export class SqliteAnalysisStore implements AnalysisStore {
  private readonly q;
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
    this.q = {
      insert: db.prepare(
        `INSERT INTO analyses (id, account_id, name, description, active, run_on, variables, tags, token, token_id, last_run, created_at, updated_at)
         VALUES (@id, @account_id, @name, @description, @active, @run_on, @variables, @tags, @token, @token_id, @last_run, @created_at, @updated_at)`,
      ),
      // analysis_id (migration 10) marks the row as this analysis's token in account token lists.
      insertToken: db.prepare(
        "INSERT INTO account_tokens (id, account_id, token_hash, name, created_at, expires_at, prefix, analysis_id) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
      ),
      deleteToken: db.prepare("DELETE FROM account_tokens WHERE id = ? AND account_id = ?"),
      update: db.prepare(
        `UPDATE analyses SET name = @name, description = @description, active = @active, run_on = @run_on, variables = @variables,
         tags = @tags, last_run = @last_run, updated_at = @updated_at WHERE id = @id AND account_id = @account_id`,
      ),
      get: db.prepare(`SELECT ${COLUMNS} FROM analyses a WHERE a.account_id = ? AND a.id = ?`),
      list: db.prepare(`SELECT ${COLUMNS} FROM analyses a WHERE a.account_id = ? ORDER BY a.name`),
      byTokenHash: db.prepare(`SELECT ${COLUMNS} FROM analyses a JOIN account_tokens t ON t.id = a.token_id WHERE t.token_hash = ?`),
      tokenIdOf: db.prepare("SELECT token_id FROM analyses WHERE account_id = ? AND id = ?"),
      delete: db.prepare("DELETE FROM analyses WHERE account_id = ? AND id = ?"),
      setToken: db.prepare("UPDATE analyses SET token = ?, token_id = ?, updated_at = ? WHERE account_id = ? AND id = ?"),
      saveCode: db.prepare(
        `UPDATE analyses SET code = ?, file_name = ?, module = ?, code_version = code_version + 1, updated_at = ?
         WHERE account_id = ? AND id = ? RETURNING code_version`,
      ),
      lastRun: db.prepare("UPDATE analyses SET last_run = ? WHERE id = ?"),
      code: db.prepare("SELECT code, code_version FROM analyses WHERE id = ? AND code IS NOT NULL"),
    };
  }

  async insert(row: AnalysisRow, token: NewAnalysisToken): Promise<void> {
    writeTransaction(this.db, () => {
      this.q.insertToken.run(row.tokenId, row.accountId, token.tokenHash, token.name, row.createdAt.getTime(), row.token.slice(0, 8), row.id);
      this.q.insert.run(this.params(row));
    })();
  }

  async update(row: AnalysisRow): Promise<void> {
    const { token: _t, token_id: _i, created_at: _c, ...changed } = this.params(row);
    this.q.update.run(changed);
  }

  async get(accountId: string, id: string): Promise<AnalysisRow | undefined> {
    const r = this.q.get.get(accountId, id) as AnalysisRecord | undefined;
    return r && toRow(r);
  }

  async list(accountId: string): Promise<AnalysisRow[]> {
    return (this.q.list.all(accountId) as AnalysisRecord[]).map(toRow);
  }

  async findByTokenHash(hash: string): Promise<AnalysisRow | undefined> {
    const r = this.q.byTokenHash.get(hash) as AnalysisRecord | undefined;
    return r && toRow(r);
  }

  async delete(accountId: string, id: string): Promise<string | undefined> {
    return writeTransaction(this.db, () => {
      const r = this.q.tokenIdOf.get(accountId, id) as { token_id: string } | undefined;
      if (!r) return undefined;
      this.q.delete.run(accountId, id);
      this.q.deleteToken.run(r.token_id, accountId);
      return r.token_id;
    })();
  }

  async replaceToken(accountId: string, id: string, token: string, tokenId: string, newToken: NewAnalysisToken): Promise<string | undefined> {
    return writeTransaction(this.db, () => {
      const r = this.q.tokenIdOf.get(accountId, id) as { token_id: string } | undefined;
      if (!r) return undefined;
      const now = Date.now();
      this.q.insertToken.run(tokenId, accountId, newToken.tokenHash, newToken.name, now, token.slice(0, 8), id);
      this.q.setToken.run(token, tokenId, now, accountId, id);
      this.q.deleteToken.run(r.token_id, accountId);
      return r.token_id;
    })();
  }

  async setLastRun(id: string, at: Date): Promise<void> {
    this.q.lastRun.run(at.getTime(), id);
  }

  async saveCode(accountId: string, id: string, code: Buffer, fileName: string, module: "cjs" | "esm"): Promise<number> {
    const r = this.q.saveCode.get(code, fileName, module, Date.now(), accountId, id) as { code_version: number } | undefined;
    return r?.code_version ?? 0;
  }

  async code(id: string): Promise<{ code: Buffer; version: number } | undefined> {
    const r = this.q.code.get(id) as { code: Buffer; code_version: number } | undefined;
    return r && { code: r.code, version: r.code_version };
  }

  private params(row: AnalysisRow) {
    return {
      id: row.id, account_id: row.accountId, name: row.name, description: row.description, active: row.active ? 1 : 0,
      run_on: row.runOn, variables: JSON.stringify(row.variables), tags: JSON.stringify(row.tags), token: row.token,
      token_id: row.tokenId, last_run: row.lastRun?.getTime() ?? null, created_at: row.createdAt.getTime(), updated_at: row.updatedAt.getTime(),
    };
  }
}
