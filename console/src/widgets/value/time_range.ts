/**
 * The time range a widget shows: the dashboard's range when the viewer picked one, else the
 * widget's first source's `start_date`/`end_date` (ISO, epoch ms or relative such as "7 days",
 * read as the API reads them), else the last 24 hours. `live`: the range ends now and slides.
 */
import { parseQueryDate } from "../../../../src/data/dates.js";
import type { WidgetJson } from "../../../../src/http/api_types.js";
import type { TimeRange } from "../types.js";

export const DEFAULT_SPAN_MS = 86_400_000;

export interface ResolvedRange {
  start: number;
  end: number;
  live: boolean;
}

export function resolveRange(widget: WidgetJson, picked: TimeRange | undefined, now = Date.now()): ResolvedRange {
  if (picked) {
    const live = picked.end === "now";
    const end = picked.end === "now" ? now : picked.end.getTime();
    return sane(picked.start.getTime(), end, live);
  }
  const source = widget.data.find((s) => s.start_date !== undefined || s.end_date !== undefined);
  const at = new Date(now);
  const endDate = source?.end_date !== undefined ? parseQueryDate(source.end_date, at) : undefined;
  const end = endDate ? endDate.getTime() : now;
  const startDate = source?.start_date !== undefined ? parseQueryDate(source.start_date, at) : undefined;
  return sane(startDate ? startDate.getTime() : end - DEFAULT_SPAN_MS, end, !endDate);
}

/** A range backwards or empty (a hand-made source) falls back to the 24 hours before its end. */
function sane(start: number, end: number, live: boolean): ResolvedRange {
  return start < end ? { start, end, live } : { start: end - DEFAULT_SPAN_MS, end, live };
}
