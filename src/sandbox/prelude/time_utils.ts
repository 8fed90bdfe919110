// Runs INSIDE the parser isolate: parser_globals.ts sends this function's source text there.
// It must stay self-contained (no imports, no references to anything outside its body).

/** The slice of dayjs (with the utc and timezone plugins) the helpers use. */
export interface ZonedDayjs {
  (date?: unknown): ZonedInstant;
  tz: (date: unknown, timezone: string) => ZonedInstant;
}
interface ZonedInstant {
  tz(timezone: string): ZonedInstant;
  format(template?: string): string;
  utcOffset(): number;
  toISOString(): string;
  isValid(): boolean;
}

export type TimeUtils = ReturnType<typeof makeTimeUtils>;

/**
 * `timeUtils`, the timezone helpers TagoIO parsers get (SPEC: Payload parsers). Dates in, text
 * out: a parser puts the result straight into a record's `time` or `value`.
 *
 * A `date` is a Date, epoch milliseconds, or a string. A string without an offset is a wall
 * clock time, read in the timezone the helper names as the source (`fromTimezone`, or UTC).
 */
export function makeTimeUtils(dayjs: ZonedDayjs) {
  const OFFSET_AT_END = /(?:z|[+-]\d\d(?::?\d\d)?)$/i;

  function isValidTimezone(timezone: unknown): boolean {
    if (typeof timezone !== "string" || timezone === "") return false;
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: timezone });
      return true;
    } catch {
      return false;
    }
  }

  function checkTimezone(timezone: unknown, name: string): string {
    if (!isValidTimezone(timezone)) throw new RangeError(`${name}: invalid timezone ${JSON.stringify(timezone)}`);
    return timezone as string;
  }

  /** The instant `date` names; a wall-clock string is read in `timezone`. */
  function instant(date: unknown, timezone: string): ZonedInstant {
    const parsed =
      date === undefined || date === null
        ? dayjs()
        : typeof date === "string" && !OFFSET_AT_END.test(date.trim())
          ? dayjs.tz(date, timezone)
          : dayjs(date);
    if (!parsed.isValid()) throw new RangeError(`invalid date ${JSON.stringify(String(date))}`);
    return parsed;
  }

  return {
    isValidTimezone,

    /** `date` (wall clock in `fromTimezone`, or an instant) as ISO 8601 with `toTimezone`'s offset. */
    convertTimezone(date: unknown, fromTimezone: string, toTimezone: string): string {
      const from = checkTimezone(fromTimezone, "convertTimezone");
      return instant(date, from).tz(checkTimezone(toTimezone, "convertTimezone")).format();
    },

    /** `date` formatted (dayjs tokens, default `YYYY-MM-DD HH:mm:ss`) as a clock in `timezone` shows it. */
    formatInTimezone(date: unknown, timezone: string, template = "YYYY-MM-DD HH:mm:ss"): string {
      return instant(date, "UTC").tz(checkTimezone(timezone, "formatInTimezone")).format(template);
    },

    /** Minutes `timezone` is ahead of UTC at `date` (now by default): -180 for America/Sao_Paulo. */
    getTimezoneOffset(timezone: string, date?: unknown): number {
      return instant(date, "UTC").tz(checkTimezone(timezone, "getTimezoneOffset")).utcOffset();
    },

    /** The current time in `timezone`: ISO 8601 with its offset, or formatted with `template`. */
    nowInTimezone(timezone: string, template?: string): string {
      return dayjs().tz(checkTimezone(timezone, "nowInTimezone")).format(template);
    },

    /** A wall-clock time in `timezone` as a UTC ISO string (`...Z`), ready for a record's `time`. */
    toUTC(date: unknown, timezone: string): string {
      return instant(date, checkTimezone(timezone, "toUTC")).toISOString();
    },
  };
}
