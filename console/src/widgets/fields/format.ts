/** A value as widgets show it: numbers with the decimals chosen (or as they come, up to 2), then the unit. */

export function formatNumber(value: number, decimals: number | null): string {
  return decimals === null
    ? value.toLocaleString(undefined, { maximumFractionDigits: 2 })
    : value.toLocaleString(undefined, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export function formatValue(value: unknown, decimals: number | null, unit: string): string {
  if (value === undefined || value === null) return "—";
  const text = typeof value === "number" ? formatNumber(value, decimals) : String(value);
  return unit ? `${text} ${unit}` : text;
}
