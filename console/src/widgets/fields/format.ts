/** A value as widgets show it: numbers with the decimals chosen (or as they come, up to 2), then the unit. */

// One formatter per decimals setting: `toLocaleString` with options builds a new Intl.NumberFormat
// on every call, which at a chart's axis labels and legend per frame was most of its draw time.
const formatters = new Map<number | null, Intl.NumberFormat>();

function formatter(decimals: number | null): Intl.NumberFormat {
  let f = formatters.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat(undefined, decimals === null ? { maximumFractionDigits: 2 } : { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    formatters.set(decimals, f);
  }
  return f;
}

export function formatNumber(value: number, decimals: number | null): string {
  return formatter(decimals).format(value);
}

export function formatValue(value: unknown, decimals: number | null, unit: string): string {
  if (value === undefined || value === null) return "—";
  const text = typeof value === "number" ? formatNumber(value, decimals) : String(value);
  return unit ? `${text} ${unit}` : text;
}
