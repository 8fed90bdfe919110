/** Time ranges offered by the widget form and the dashboard's range picker: the API's relative dates. */
export const RANGE_PRESETS: readonly { value: string; label: string; ms: number }[] = [
  { value: "1 hour", label: "Last hour", ms: 3_600_000 },
  { value: "1 day", label: "Last day", ms: 86_400_000 },
  { value: "1 week", label: "Last week", ms: 604_800_000 },
  { value: "30 days", label: "Last 30 days", ms: 30 * 86_400_000 },
];

/** `datetime-local` input value ↔ ISO date (the input shows local time). */
export function toLocalInput(iso: string | number | undefined): string {
  if (iso === undefined || iso === "") return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
