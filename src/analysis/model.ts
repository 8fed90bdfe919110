import { invalid } from "../errors.js";
import type { AnalysisInfoJson } from "../http/api_types.js";

/** Where an analysis runs: in a child process of Sluice, or on the user's machine (SDK over SSE). */
export type RunOn = "sluice" | "external";

export interface KeyValue {
  key: string;
  value: string;
}

/** The module system of an uploaded script, which decides its file extension (.cjs / .mjs). */
export type ModuleKind = "cjs" | "esm";

export interface AnalysisRow {
  id: string;
  accountId: string;
  name: string;
  description: string | null;
  active: boolean;
  runOn: RunOn;
  /** Environment variables, handed to the script as `context.environment`. */
  variables: KeyValue[];
  tags: KeyValue[];
  /** The analysis token (an account token of the account) and its account_tokens row. */
  token: string;
  tokenId: string;
  fileName: string | null;
  module: ModuleKind | null;
  /** Bumped by each upload, so a runner can tell a stale copy of the script. */
  codeVersion: number;
  lastRun: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The fields a client may set, as the SDK's `AnalysisCreateInfo` names them. */
export interface AnalysisInput {
  name?: unknown;
  description?: unknown;
  active?: unknown;
  run_on?: unknown;
  variables?: unknown;
  tags?: unknown;
  [other: string]: unknown;
}

export type AnalysisPatch = Partial<Pick<AnalysisRow, "name" | "description" | "active" | "runOn" | "variables" | "tags">>;

/** Validates a create (`creating`: name required) or an edit; unknown fields are ignored, as TagoIO does. */
export function parseAnalysisInput(input: AnalysisInput, creating: boolean): AnalysisPatch {
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw invalid("the body must be an analysis object");
  const patch: AnalysisPatch = {};
  if (input.name !== undefined || creating) {
    if (typeof input.name !== "string" || input.name.trim() === "") throw invalid("name is required");
    if (input.name.length > 200) throw invalid("name must be at most 200 characters");
    patch.name = input.name;
  }
  if (input.description !== undefined) {
    if (input.description !== null && typeof input.description !== "string") throw invalid("description must be a string");
    patch.description = input.description;
  }
  if (input.active !== undefined) {
    if (typeof input.active !== "boolean") throw invalid("active must be true or false");
    patch.active = input.active;
  }
  if (input.run_on !== undefined) patch.runOn = parseRunOn(input.run_on);
  if (input.variables !== undefined) patch.variables = parseKeyValues(input.variables, "variables", true);
  if (input.tags !== undefined) patch.tags = parseKeyValues(input.tags, "tags", false);
  return patch;
}

/** TagoIO calls the hosted mode "tago"; here the host is Sluice, and both names mean it. */
function parseRunOn(value: unknown): RunOn {
  if (value === "sluice" || value === "tago") return "sluice";
  if (value === "external") return "external";
  throw invalid('run_on must be "sluice" (or "tago") or "external"');
}

const MAX_PAIRS = 200;

/** `[{ key, value }]`; environment values may be numbers or booleans in the SDK's type, kept as text. */
function parseKeyValues(value: unknown, field: string, coerceValues: boolean): KeyValue[] {
  // The SDK's type allows a single object for `variables`.
  const list = Array.isArray(value) ? value : typeof value === "object" && value !== null ? [value] : undefined;
  if (!list) throw invalid(`${field} must be a list of { key, value }`);
  if (list.length > MAX_PAIRS) throw invalid(`${field} may hold at most ${MAX_PAIRS} entries`);
  return list.map((item: unknown, i) => {
    const { key, value: v } = (item ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== "string" || key === "") throw invalid(`${field}[${i}].key must be a non-empty string`);
    const ok = typeof v === "string" || (coerceValues && (typeof v === "number" || typeof v === "boolean"));
    if (!ok) throw invalid(`${field}[${i}].value must be a string`);
    return { key, value: String(v) };
  });
}

/** The SDK's `AnalysisInfo`; `run_on` answers "tago" is never used: Sluice says what it is. */
export function analysisInfo(row: AnalysisRow, runs?: { running: number; queued: number }): AnalysisInfoJson {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    active: row.active,
    run_on: row.runOn,
    runtime: "node",
    file_name: row.fileName,
    variables: row.variables,
    tags: row.tags,
    token: row.token,
    version: row.codeVersion,
    last_run: row.lastRun?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    ...(runs && { runs }),
  };
}
