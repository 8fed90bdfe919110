/**
 * Dates as TagoIO clients write them. Records carry ISO strings, "2015-11-03 13:44:33" (the
 * SDK's own example), Date objects or epoch milliseconds; query bounds may also be relative
 * ("1 day", "2 weeks": that long before now), as TagoIO's "Getting Data" page documents.
 *
 * A date-time without a zone is read as UTC, not as the server's local time: the same request
 * must mean the same instant whichever machine Sluice runs on.
 */

// "2015-11-03 13:44:33", "2015-11-03T13:44", "2015-11-03 13:44:33.5": no "Z" and no offset.
const ZONELESS = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)$/;
const EPOCH_MS = /^-?\d{1,16}$/;
const RELATIVE = /^(\d{1,6})\s*(second|minute|hour|day|week|month|quarter|year)s?(?:\s+ago)?$/i;

const FIXED_UNIT_MS: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};
const MONTHS_PER_UNIT: Record<string, number> = { month: 1, quarter: 3, year: 12 };
const APPROXIMATE_CALENDAR_MS: Record<string, number> = { month: 30 * 86_400_000, quarter: 91 * 86_400_000, year: 365 * 86_400_000 };

/**
 * A duration such as "5 minutes" or "2 days", in ms; undefined when unreadable. Calendar units
 * count as fixed lengths here (month 30 days, quarter 91, year 365): fine for repeating
 * intervals, where the calendar-aware `parseQueryDate` is not needed.
 */
export function parseDuration(text: string): number | undefined {
  const m = RELATIVE.exec(text.trim());
  if (!m || /ago$/i.test(text.trim())) return undefined;
  const unit = m[2]!.toLowerCase();
  return Number(m[1]) * (FIXED_UNIT_MS[unit] ?? APPROXIMATE_CALENDAR_MS[unit]!);
}

/** An absolute date: Date, epoch ms (number or digits) or a date string; undefined when unreadable. */
export function parseDate(input: unknown): Date | undefined {
  let date: Date;
  if (input instanceof Date) date = new Date(input.getTime());
  else if (typeof input === "number") date = new Date(input);
  else if (typeof input === "string") {
    const text = input.trim();
    if (text === "") return undefined;
    if (EPOCH_MS.test(text)) date = new Date(Number(text));
    else {
      const zoneless = ZONELESS.exec(text);
      date = new Date(zoneless ? `${zoneless[1]}T${zoneless[2]}Z` : text);
    }
  } else return undefined;
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A query bound: an absolute date, or a relative one ("1 day", "3 months ago") counted back from `now`. */
export function parseQueryDate(input: unknown, now: Date): Date | undefined {
  if (typeof input === "string") {
    const relative = RELATIVE.exec(input.trim());
    if (relative) return subtract(now, Number(relative[1]), relative[2]!.toLowerCase());
  }
  return parseDate(input);
}

/**
 * A relative date counted forward ("1 month", "2 days": that long after `now`), as TagoIO's
 * token `expire_time` takes it; undefined when `text` is not a duration ("… ago" is not).
 */
export function parseRelativeFuture(text: string, now: Date): Date | undefined {
  const relative = RELATIVE.exec(text.trim());
  if (!relative || /ago$/i.test(text.trim())) return undefined;
  // Counting back a negative amount is counting forward, with the same calendar clamping.
  return subtract(now, -Number(relative[1]), relative[2]!.toLowerCase());
}

function subtract(now: Date, amount: number, unit: string): Date {
  const fixed = FIXED_UNIT_MS[unit];
  if (fixed !== undefined) return new Date(now.getTime() - amount * fixed);
  // Calendar units move the month field in UTC, clamping the day: one month before March 31st
  // is the last day of February, not a day in early March.
  const date = new Date(now.getTime());
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() - amount * MONTHS_PER_UNIT[unit]!);
  const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, lastDay));
  return date;
}
