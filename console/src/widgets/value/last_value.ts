/**
 * The newest values of a single-value widget (display, card, dial): the first source's device
 * and its first variable (any variable when the source lists none). Loaded with `qty` (the API
 * applies it per variable, newest first, whatever the source's query), then live records of
 * that device and variable replace them when newer.
 */
import type { DataRecordJson, RecordValueJson, WidgetJson, WidgetSourceResultJson } from "../../../../src/http/api_types.js";
import type { WidgetContext } from "../types.js";
import { useWidgetData, type WidgetData } from "../use_widget_data.js";

export interface LastValue {
  value: RecordValueJson;
  /** ISO 8601. */
  time: string;
  variable: string;
  unit?: string;
}

export interface LastValues {
  device: string | null;
  variable: string | null;
  /** Newest first, at most the `count` asked. */
  values: LastValue[];
  /** A source's own error ("Device not found"). */
  error?: string;
}

function isRecord(item: unknown): item is DataRecordJson {
  return typeof item === "object" && item !== null && typeof (item as DataRecordJson).variable === "string" && typeof (item as DataRecordJson).time === "string";
}

function toValue(r: DataRecordJson): LastValue | undefined {
  if (r.value === undefined) return undefined;
  return { value: r.value, time: r.time, variable: r.variable, ...(r.unit !== undefined ? { unit: r.unit } : {}) };
}

export function readLastValues(widget: WidgetJson, results: WidgetSourceResultJson[], count: number): LastValues {
  const wanted = widget.data[0]?.variables?.[0]?.toLowerCase() ?? null;
  const first = results[0];
  if (!first) return { device: null, variable: wanted, values: [] };
  const records = Array.isArray(first.result) ? first.result.filter(isRecord) : [];
  const values = records
    .filter((r) => wanted === null || r.variable === wanted)
    .map(toValue)
    .filter((v): v is LastValue => v !== undefined)
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
    .slice(0, count);
  return { device: first.device, variable: wanted ?? values[0]?.variable ?? null, values, ...(first.error ? { error: first.error } : {}) };
}

export function mergeLastValues(current: LastValues, records: DataRecordJson[], count: number): LastValues {
  let values = current.values;
  for (const r of records) {
    if (r.device !== current.device || (current.variable !== null && r.variable !== current.variable)) continue;
    const v = toValue(r);
    if (!v) continue;
    const newest = values[0];
    if (newest && Date.parse(v.time) < Date.parse(newest.time)) continue;
    values = [v, ...values].slice(0, count);
  }
  return values === current.values ? current : { ...current, variable: current.variable ?? values[0]?.variable ?? null, values };
}

/** `count` newest values, kept live. */
export function useLastValues(ctx: WidgetContext, widget: WidgetJson, count: number): WidgetData<LastValues> {
  return useWidgetData(ctx, widget, {
    query: { qty: count },
    read: (results) => readLastValues(widget, results, count),
    merge: (current, records) => mergeLastValues(current, records, count),
  });
}
