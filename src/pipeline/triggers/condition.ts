import type { NormalizedRecord } from "../../data/types.js";
import type { Action, ConditionTrigger } from "../action_model.js";

/** Whether a record satisfies one condition row (`is`: < > = ! >< *, typed by value_type). */
export function conditionMet(row: ConditionTrigger, record: NormalizedRecord): boolean {
  if (record.variable !== row.variable) return false;
  if (row.is === "*") return true;
  const v = record.value;
  if (row.value_type === "number" || (row.value_type === "*" && typeof v === "number")) {
    const n = typeof v === "number" ? v : Number(v);
    const a = Number(row.value);
    if (Number.isNaN(n) || Number.isNaN(a)) return false;
    switch (row.is) {
      case "<": return n < a;
      case ">": return n > a;
      case "=": return n === a;
      case "!": return n !== a;
      case "><": {
        const b = Number(row.second_value);
        return n >= Math.min(a, b) && n <= Math.max(a, b);
      }
    }
  }
  const s = v === null ? "" : String(v);
  if (row.is === "=") return s === row.value;
  if (row.is === "!") return s !== row.value;
  return false;
}

export type ConditionDecision = { fire: false; lock?: boolean } | { fire: true; lock?: boolean };

/**
 * Lock/unlock (TagoIO's condition actions): when the action has `unlock` rows, it fires once
 * when a trigger row is met and locks; it fires again only after an unlock row has been met
 * (and fires then too when `trigger_when_unlock`). Without unlock rows it fires every time.
 */
export function decideCondition(action: Action, deviceId: string, records: readonly NormalizedRecord[]): ConditionDecision {
  const rows = (action.trigger as ConditionTrigger[]).filter((r) => r.device === deviceId);
  if (rows.length === 0) return { fire: false };
  const triggers = rows.filter((r) => !r.unlock);
  const unlocks = rows.filter((r) => r.unlock);
  const met = (list: ConditionTrigger[]) => records.some((rec) => list.some((row) => conditionMet(row, rec)));
  if (unlocks.length === 0) return { fire: met(triggers) };
  if (action.lock) {
    if (!met(unlocks)) return { fire: false };
    return action.trigger_when_unlock ? { fire: true, lock: false } : { fire: false, lock: false };
  }
  return met(triggers) ? { fire: true, lock: true } : { fire: false };
}
