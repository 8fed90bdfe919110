/**
 * Record times on screen: the API's ISO instants shown in UTC (as the API reads a date without
 * a zone, so what is shown can be typed back into a filter) or in the browser's own zone.
 */
export type TimeZoneChoice = "utc" | "local";

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** "2024-05-01 12:00:00.000" in the chosen zone; the text as given when it is not a date. */
export function formatTime(iso: string, zone: TimeZoneChoice): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (zone === "utc") return iso.replace("T", " ").replace(/Z$/, "");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function zoneLabel(zone: TimeZoneChoice): string {
  return zone === "utc" ? "UTC" : Intl.DateTimeFormat().resolvedOptions().timeZone;
}
