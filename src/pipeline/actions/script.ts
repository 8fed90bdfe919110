import { toApiRecord, type ApiRecord } from "../../data/api_record.js";
import { invalid } from "../../errors.js";
import type { NormalizedRecord } from "../../data/types.js";
import type { ActionHandler } from "./registry.js";

/** What the script action needs of the analysis part: start a run (queued, not awaited). */
export interface ScriptRunner {
  run(accountId: string, analysisId: string, scope: unknown): Promise<unknown>;
}

const MAX_ANALYSES = 20;

/**
 * "Run analysis": `action: { type: "script", script: [analysis id, ...] }` runs each analysis
 * with the triggering records as its scope, in the API's record shape. The action does not
 * wait for the runs (a run may last a minute; an MQTT ack must not): it waits only for them
 * to be queued. Scope records have no `id`: they are handed over before (or without) storage.
 */
export function scriptAction(runner: ScriptRunner): ActionHandler {
  return {
    type: "script",
    stores: false,
    validate(params) {
      const list = typeof params.script === "string" ? [params.script] : params.script;
      if (!Array.isArray(list) || list.length === 0 || !list.every((id) => typeof id === "string" && id !== "")) {
        throw invalid("action.script must be a list of analysis ids");
      }
      if (list.length > MAX_ANALYSES) throw invalid(`action.script may name at most ${MAX_ANALYSES} analyses`);
      return { type: "script", script: [...new Set(list as string[])] };
    },
    async run(context) {
      const ids = context.action.action.script as string[];
      const deviceId = context.device?.id ?? "";
      const scope = context.records.map((record) => scopeRecord(record, deviceId));
      const failures: string[] = [];
      for (const id of ids) {
        // One missing or inactive analysis must not keep the others from running.
        await runner.run(context.action.accountId, id, scope).catch((err: Error) => failures.push(`${id}: ${err.message}`));
      }
      const started = ids.length - failures.length;
      const summary = `started ${started} analys${started === 1 ? "is" : "es"}${failures.length > 0 ? `; failed ${failures.join("; ")}` : ""}`;
      if (started === 0) throw new Error(summary);
      return { summary };
    },
  };
}

function scopeRecord(record: NormalizedRecord, deviceId: string): Omit<ApiRecord, "id"> {
  const { id: _id, ...rest } = toApiRecord({ ...record, id: "", device: deviceId, createdAt: new Date() });
  return rest;
}
