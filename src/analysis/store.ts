import type { AnalysisRow } from "./model.js";

/** What a new analysis needs besides its row: the account token row created with it. */
export interface NewAnalysisToken {
  tokenHash: string;
  name: string;
}

/**
 * Storage of analyses, their scripts and their tokens. An analysis and its account token are
 * written and removed in one transaction, so no analysis lives without its token and no
 * analysis token outlives its analysis.
 */
export interface AnalysisStore {
  insert(row: AnalysisRow, token: NewAnalysisToken): Promise<void>;
  update(row: AnalysisRow): Promise<void>;
  get(accountId: string, id: string): Promise<AnalysisRow | undefined>;
  list(accountId: string): Promise<AnalysisRow[]>;
  /** The analysis whose account token has this hash. */
  findByTokenHash(hash: string): Promise<AnalysisRow | undefined>;
  /**
   * Deletes the analysis and its token row; returns the deleted token row's id (whose live
   * uses must then end), undefined when there was no such analysis.
   */
  delete(accountId: string, id: string): Promise<string | undefined>;
  /** Swaps the analysis token: the old token row goes, a new one comes; returns the old row's id. */
  replaceToken(accountId: string, id: string, token: string, tokenId: string, newToken: NewAnalysisToken): Promise<string | undefined>;
  setLastRun(id: string, at: Date): Promise<void>;
  saveCode(accountId: string, id: string, code: Buffer, fileName: string, module: "cjs" | "esm"): Promise<number>;
  /** The script and its version; undefined when none was uploaded. */
  code(id: string): Promise<{ code: Buffer; version: number } | undefined>;
}
