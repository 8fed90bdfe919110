import type { AnalysisRow, KeyValue, ModuleKind, RunOn } from "../../analysis/model.js";
import type { AnalysisStore, NewAnalysisToken } from "../../analysis/store.js";
import { one, transaction, all, type Pool, type PoolClient } from "./pool.js";

interface AnalysisRecord {
  id: string; account_id: string; name: string; description: string | null; active: boolean; run_on: RunOn;
  variables: string; tags: string; token: string; token_id: string; file_name: string | null;
  module: ModuleKind | null; code_version: number; last_run: number | null; created_at: number; updated_at: number;
}

// Every column but the script, which only the runner reads.
const COLUMNS = "a.id, a.account_id, a.name, a.description, a.active, a.run_on, a.variables, a.tags, a.token, a.token_id, a.file_name, a.module, a.code_version, a.last_run, a.created_at, a.updated_at";

function toRow(r: AnalysisRecord): AnalysisRow {
  return {
    id: r.id, accountId: r.account_id, name: r.name, description: r.description, active: r.active, runOn: r.run_on,
    variables: JSON.parse(r.variables) as KeyValue[], tags: JSON.parse(r.tags) as KeyValue[], token: r.token, tokenId: r.token_id,
    fileName: r.file_name, module: r.module, codeVersion: r.code_version, lastRun: r.last_run === null ? null : new Date(r.last_run),
    createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at),
  };
}

/** Analyses in PostgreSQL (migration 6), with their account token rows in account_tokens, as in SQLite. */
export class PgAnalysisStore implements AnalysisStore {
  constructor(private readonly pool: Pool) {}

  async insert(row: AnalysisRow, token: NewAnalysisToken): Promise<void> {
    await transaction(this.pool, async (c) => {
      await insertToken(c, row.tokenId, row.accountId, token, row.createdAt.getTime(), row.token, row.id);
      await c.query(
        `INSERT INTO analyses (id, account_id, name, description, active, run_on, variables, tags, token, token_id, last_run, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [row.id, row.accountId, row.name, row.description, row.active, row.runOn, JSON.stringify(row.variables), JSON.stringify(row.tags),
          row.token, row.tokenId, row.lastRun?.getTime() ?? null, row.createdAt.getTime(), row.updatedAt.getTime()],
      );
    });
  }

  async update(row: AnalysisRow): Promise<void> {
    await this.pool.query(
      `UPDATE analyses SET name = $1, description = $2, active = $3, run_on = $4, variables = $5, tags = $6, last_run = $7, updated_at = $8
       WHERE id = $9 AND account_id = $10`,
      [row.name, row.description, row.active, row.runOn, JSON.stringify(row.variables), JSON.stringify(row.tags),
        row.lastRun?.getTime() ?? null, row.updatedAt.getTime(), row.id, row.accountId],
    );
  }

  async get(accountId: string, id: string): Promise<AnalysisRow | undefined> {
    const r = await one<AnalysisRecord>(this.pool, `SELECT ${COLUMNS} FROM analyses a WHERE a.account_id = $1 AND a.id = $2`, [accountId, id]);
    return r && toRow(r);
  }

  async list(accountId: string): Promise<AnalysisRow[]> {
    return (await all<AnalysisRecord>(this.pool, `SELECT ${COLUMNS} FROM analyses a WHERE a.account_id = $1 ORDER BY a.name, a.rank`, [accountId])).map(toRow);
  }

  async findByTokenHash(hash: string): Promise<AnalysisRow | undefined> {
    const r = await one<AnalysisRecord>(this.pool, `SELECT ${COLUMNS} FROM analyses a JOIN account_tokens t ON t.id = a.token_id WHERE t.token_hash = $1`, [hash]);
    return r && toRow(r);
  }

  async delete(accountId: string, id: string): Promise<string | undefined> {
    return transaction(this.pool, async (c) => {
      const r = await one<{ token_id: string }>(c, "DELETE FROM analyses WHERE account_id = $1 AND id = $2 RETURNING token_id", [accountId, id]);
      if (!r) return undefined;
      await c.query("DELETE FROM account_tokens WHERE id = $1 AND account_id = $2", [r.token_id, accountId]);
      return r.token_id;
    });
  }

  async replaceToken(accountId: string, id: string, token: string, tokenId: string, newToken: NewAnalysisToken): Promise<string | undefined> {
    return transaction(this.pool, async (c) => {
      // Locked: two replacements at once must not both delete the same old row and leave one new token orphaned.
      const r = await one<{ token_id: string }>(c, "SELECT token_id FROM analyses WHERE account_id = $1 AND id = $2 FOR UPDATE", [accountId, id]);
      if (!r) return undefined;
      const now = Date.now();
      await insertToken(c, tokenId, accountId, newToken, now, token, id);
      await c.query("UPDATE analyses SET token = $1, token_id = $2, updated_at = $3 WHERE account_id = $4 AND id = $5", [token, tokenId, now, accountId, id]);
      await c.query("DELETE FROM account_tokens WHERE id = $1 AND account_id = $2", [r.token_id, accountId]);
      return r.token_id;
    });
  }

  async setLastRun(id: string, at: Date): Promise<void> {
    await this.pool.query("UPDATE analyses SET last_run = $1 WHERE id = $2", [at.getTime(), id]);
  }

  async saveCode(accountId: string, id: string, code: Buffer, fileName: string, module: "cjs" | "esm"): Promise<number> {
    const r = await one<{ code_version: number }>(
      this.pool,
      `UPDATE analyses SET code = $1, file_name = $2, module = $3, code_version = code_version + 1, updated_at = $4
       WHERE account_id = $5 AND id = $6 RETURNING code_version`,
      [code, fileName, module, Date.now(), accountId, id],
    );
    return r?.code_version ?? 0;
  }

  async code(id: string): Promise<{ code: Buffer; version: number } | undefined> {
    const r = await one<{ code: Buffer; code_version: number }>(this.pool, "SELECT code, code_version FROM analyses WHERE id = $1 AND code IS NOT NULL", [id]);
    return r && { code: r.code, version: r.code_version };
  }
}

// analysis_id marks the row as this analysis's token in account token lists.
async function insertToken(c: PoolClient, id: string, accountId: string, token: NewAnalysisToken, createdAt: number, clear: string, analysisId: string): Promise<void> {
  await c.query(
    "INSERT INTO account_tokens (id, account_id, token_hash, name, created_at, expires_at, prefix, analysis_id) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
    [id, accountId, token.tokenHash, token.name, createdAt, clear.slice(0, 8), analysisId],
  );
}
