import { invalid, notFound, SluiceError } from "../errors.js";
import type { AnalysisLimits } from "../config/schema.js";
import type { EventHub } from "../events/hub.js";
import type { AnalysisInfoJson } from "../http/api_types.js";
import { generateId, generateToken, hashToken } from "../identity/tokens.js";
import type { Logger } from "../observability/logger.js";
import type { AnalysisConsole } from "./console.js";
import { analysisInfo, parseAnalysisInput, type AnalysisInput, type AnalysisRow } from "./model.js";
import { runProcess, type ProcessOutcome } from "./process_runner.js";
import type { RunEntry, RunQueue } from "./run_queue.js";
import { moduleKindOf, type ScriptFiles } from "./script_files.js";
import type { AnalysisStore } from "./store.js";

/** Why an analysis token stopped being valid. */
export type AnalysisTokenEnd = "regenerated" | "analysisDeleted";

export interface AnalysisServiceDeps {
  store: AnalysisStore;
  console: AnalysisConsole;
  hub: EventHub;
  queue: RunQueue;
  files: ScriptFiles;
  limits: AnalysisLimits;
  /** Sluice's HTTP API as a script reaches it (known once the server listens). */
  apiUrl(): string;
  logger: Logger;
  nodePath?: string;
  /** `outbound.allowPrivateTargets`: false keeps analyses off non-public addresses but Sluice's API. */
  allowPrivateTargets: boolean;
  /** Records running processes, so that the next start kills those a killed Sluice left (leftovers.ts). */
  ledger?: { add(pid: number): void; remove(pid: number): void };
  /** The account's plan on one more run (monthly runs, the analysis feature); throws to refuse. */
  admitRun?(accountId: string): void;
  /**
   * An analysis token stopped being valid: the composition root passes it on as the identity
   * service's `revoked` event, which ends the token's live uses (SSE streams) the way it ends
   * MQTT connections. On `"regenerated"` (a leak being closed) it also revokes the device
   * tokens the old token minted; on `"analysisDeleted"` those stay (a provisioning analysis
   * removed later must not cut its devices off). Awaited before the new token is returned.
   */
  revoked?(tokenId: string, cause: AnalysisTokenEnd): void | Promise<void>;
}

/**
 * The scope travels in the process environment (`T_ANALYSIS_DATA`, as TagoIO's runner reads
 * it), and Linux caps one environment string at 128 KiB.
 */
export const MAX_SCOPE_BYTES = 120 * 1024;

export type RunResult = { mode: "sluice"; run: RunEntry } | { mode: "external"; delivered: boolean };

/** Analyses: their lifecycle, their tokens, and their runs, here or on an external runner. */
export class AnalysisService {
  private readonly shutdown = new AbortController();

  constructor(private readonly deps: AnalysisServiceDeps) {}

  async create(accountId: string, input: AnalysisInput): Promise<{ id: string; token: string }> {
    const patch = parseAnalysisInput(input, true);
    const now = new Date();
    const token = generateToken();
    const row: AnalysisRow = {
      id: generateId(), accountId, name: patch.name!, description: patch.description ?? null, active: patch.active ?? true,
      runOn: patch.runOn ?? "sluice", variables: patch.variables ?? [], tags: patch.tags ?? [], token, tokenId: generateId(),
      fileName: null, module: null, codeVersion: 0, lastRun: null, createdAt: now, updatedAt: now,
    };
    await this.deps.store.insert(row, { tokenHash: hashToken(token), name: tokenName(row) });
    return { id: row.id, token };
  }

  list(accountId: string): Promise<AnalysisRow[]> {
    return this.deps.store.list(accountId);
  }

  async get(accountId: string, id: string): Promise<AnalysisRow> {
    const row = await this.deps.store.get(accountId, id);
    if (!row) throw notFound("Analysis");
    return row;
  }

  /** The analysis info as the API shows it, with its queued and running runs. */
  async info(accountId: string, id: string): Promise<AnalysisInfoJson> {
    return analysisInfo(await this.get(accountId, id), this.deps.queue.count(id));
  }

  async edit(accountId: string, id: string, input: AnalysisInput): Promise<void> {
    const row = await this.get(accountId, id);
    await this.deps.store.update({ ...row, ...parseAnalysisInput(input, false), updatedAt: new Date() });
  }

  async delete(accountId: string, id: string): Promise<void> {
    const tokenId = await this.deps.store.delete(accountId, id);
    if (tokenId === undefined) throw notFound("Analysis");
    await this.deps.revoked?.(tokenId, "analysisDeleted");
    this.deps.queue.drop(id);
    this.deps.console.clear(id);
    await this.deps.files.remove(id).catch((err) => this.deps.logger.warn({ err, analysisId: id }, "removing an analysis's script directory failed"));
  }

  /** `uploadScript`: `file` is the script in base64. */
  async upload(accountId: string, id: string, body: { file?: unknown; file_name?: unknown; language?: unknown }): Promise<void> {
    await this.get(accountId, id);
    if (typeof body?.file !== "string" || body.file === "") throw invalid("file is required: the script in base64");
    if (body.language !== undefined && body.language !== "node") throw invalid('language must be "node": Sluice runs Node.js scripts');
    const fileName = body.file_name === undefined ? "script.js" : body.file_name;
    if (typeof fileName !== "string" || fileName === "" || fileName.length > 200) throw invalid("file_name must be a file name");
    if (!/^[A-Za-z0-9+/=\s_-]*$/.test(body.file)) throw invalid("file must be base64");
    const code = Buffer.from(body.file, "base64");
    if (code.length === 0) throw invalid("file is empty");
    if (code.length > this.deps.limits.scriptBytes) throw invalid(`file is larger than ${this.deps.limits.scriptBytes} bytes`);
    await this.deps.store.saveCode(accountId, id, code, fileName, moduleKindOf(fileName, code.toString("utf8")));
  }

  /** The uploaded script as it was uploaded; 404 when there is none yet. */
  async script(accountId: string, id: string): Promise<{ code: Buffer; version: number; fileName: string }> {
    const row = await this.get(accountId, id);
    const stored = row.module ? await this.deps.store.code(id) : undefined;
    if (!stored) throw new SluiceError("NOT_FOUND", "the analysis has no script yet: upload one first", 404);
    return { code: stored.code, version: stored.version, fileName: row.fileName ?? "script.js" };
  }

  /** A new analysis token; the old one stops working at once. */
  async regenerateToken(accountId: string, id: string): Promise<string> {
    const row = await this.get(accountId, id);
    const token = generateToken();
    const old = await this.deps.store.replaceToken(accountId, id, token, generateId(), { tokenHash: hashToken(token), name: tokenName(row) });
    if (old === undefined) throw notFound("Analysis"); // deleted meanwhile
    await this.deps.revoked?.(old, "regenerated");
    return token;
  }

  /** The analysis an analysis token belongs to. */
  byToken(token: string): Promise<AnalysisRow | undefined> {
    return this.deps.store.findByTokenHash(hashToken(token));
  }

  runs(accountId: string): RunEntry[] {
    return this.deps.queue.list(accountId);
  }

  /**
   * Runs the analysis with `scope` (the records that triggered it): queued for a process here
   * (run_on sluice), or sent to the external runner listening on `analysis_trigger`.
   */
  async run(accountId: string, id: string, scope: unknown = []): Promise<RunResult> {
    const row = await this.get(accountId, id);
    if (!row.active) throw new SluiceError("ANALYSIS_INACTIVE", "the analysis is not active", 400);
    const data = JSON.stringify(scope ?? []);
    if (row.runOn === "external") {
      this.deps.admitRun?.(accountId);
      const channel = `analysis_trigger.${id}`;
      const delivered = this.deps.hub.listening(accountId, channel);
      this.deps.hub.publish(accountId, channel, { environment: row.variables, data: scope ?? [], analysis_id: id, token: row.token });
      if (!delivered) this.deps.console.append(accountId, id, "No external runner is connected: the run was not delivered");
      await this.deps.store.setLastRun(id, new Date());
      return { mode: "external", delivered };
    }
    if (!row.module) throw invalid("the analysis has no script: upload one first");
    if (Buffer.byteLength(data) > MAX_SCOPE_BYTES) throw invalid(`the scope is larger than ${MAX_SCOPE_BYTES} bytes of JSON`);
    // Counted once the run can only fail for the plan or a full queue, not for its own input.
    this.deps.admitRun?.(accountId);
    const run = this.deps.queue.enqueue(accountId, id, () => this.runHere(accountId, id, data));
    return { mode: "sluice", run };
  }

  /** Kills running processes; waiting runs are dropped by the queue. */
  stop(): void {
    this.deps.queue.stop();
    this.shutdown.abort();
  }

  private async runHere(accountId: string, id: string, data: string): Promise<void> {
    const log = (message: string) => this.deps.console.append(accountId, id, message);
    const row = await this.deps.store.get(accountId, id);
    if (!row?.module) return; // deleted (or its script gone) while it waited
    await this.deps.store.setLastRun(id, new Date());
    let script: string;
    try {
      script = await this.deps.files.prepare(id, row.module, row.codeVersion, async () => (await this.deps.store.code(id))?.code);
    } catch (err) {
      this.deps.logger.error({ err, analysisId: id }, "preparing an analysis script failed");
      log("The analysis could not be started: its script could not be prepared");
      return;
    }
    const api = this.deps.apiUrl();
    const outcome = await runProcess(
      {
        nodePath: this.deps.nodePath ?? process.execPath,
        script,
        readable: [this.deps.files.dirOf(id), this.deps.files.sdkModules],
        cwd: this.deps.files.dirOf(id),
        ...(this.deps.files.runAs && { runAs: this.deps.files.runAs }),
        allowPrivateTargets: this.deps.allowPrivateTargets,
        ...(this.deps.ledger && { ledger: this.deps.ledger }),
        // What TagoIO's runner gives a script, and nothing of Sluice's own environment.
        env: {
          T_ANALYSIS_CONTEXT: "sluice",
          T_ANALYSIS_ID: id,
          T_ANALYSIS_TOKEN: row.token,
          T_ANALYSIS_ENV: JSON.stringify(row.variables),
          T_ANALYSIS_DATA: data,
          TAGOIO_API: api,
          TAGOIO_SSE: `${api}/events`,
          ...(process.env.TZ !== undefined && { TZ: process.env.TZ }),
        },
      },
      this.deps.limits,
      log,
      this.shutdown.signal,
    );
    const ending = describeOutcome(outcome, this.deps.limits);
    if (ending) log(ending);
  }
}

function tokenName(row: AnalysisRow): string {
  return `Analysis ${row.name} (${row.id})`;
}

/** The console's last word on a run that did not end by itself with code 0. */
function describeOutcome(outcome: ProcessOutcome, limits: AnalysisLimits): string | undefined {
  if (outcome.error) return `The analysis could not be started: ${outcome.error}`;
  switch (outcome.stopped) {
    case "timeout":
      return `The analysis was stopped: it ran longer than ${limits.timeoutMs / 1000} s`;
    case "cpu":
      return `The analysis was stopped: it used more than ${limits.cpuSeconds} s of CPU time`;
    case "memory":
      return `The analysis was stopped: it used more than ${limits.memoryMb} MiB of memory`;
    case "output":
      return `The analysis was stopped: it wrote more than ${limits.outputBytes} bytes of output`;
    case "shutdown":
      return "The analysis was stopped: the server is shutting down";
  }
  if (outcome.code !== 0) return `The analysis ended with ${outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.code}`}`;
  return undefined;
}
