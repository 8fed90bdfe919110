/** The calendar month (UTC) a moment falls in, as `YYYY-MM`, and when it ends. */
export function monthOf(now: number): { period: string; endsAt: number } {
  const d = new Date(now);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  return { period: `${year}-${String(month + 1).padStart(2, "0")}`, endsAt: Date.UTC(year, month + 1, 1) };
}
