/**
 * A data report as HTML (for the PDF: a summary table, one line chart per variable as inline
 * SVG, the records in a table) and as CSV. Rendered on the server, without a script and without
 * anything the page would fetch: the browser only lays it out and prints it. Every text from
 * the account (names, units, string values) is escaped.
 */
import type { RecordValue } from "../data/types.js";

export interface ReportRecord {
  time: Date;
  value: RecordValue | null;
  unit: string | null;
  group: string;
}

export interface Series {
  deviceId: string;
  deviceName: string;
  variable: string;
  records: ReportRecord[];
}

export interface ReportDocument {
  title: string;
  period: { start: Date; end: Date };
  generatedAt: Date;
  timezone: string;
  series: Series[];
  /** Lines said under the heading: devices not found, records left out by the bound. */
  notes: string[];
}

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"];
const CHART = { width: 680, height: 230, left: 58, right: 12, top: 12, bottom: 34 };
/** Points drawn per series at most: the chart is ~600 px wide, so each pixel column keeps its min and max. */
const MAX_POINTS = 1200;

export function renderReportHtml(doc: ReportDocument): string {
  const time = timeFormatter(doc.timezone);
  const variables = [...new Set(doc.series.map((s) => s.variable))];
  const rows = doc.series.flatMap((s) => s.records.map((r) => ({ s, r }))).sort((a, b) => a.r.time.getTime() - b.r.time.getTime());
  const summary = doc.series.map((s) => {
    const numbers = s.records.map((r) => r.value).filter((v): v is number => typeof v === "number");
    const last = s.records.at(-1);
    return `<tr><td>${esc(s.deviceName)}</td><td>${esc(s.variable)}</td><td>${esc(unitOf(s))}</td><td class="n">${s.records.length}</td>` +
      `<td class="n">${numbers.length ? num(Math.min(...numbers)) : "–"}</td><td class="n">${numbers.length ? num(Math.max(...numbers)) : "–"}</td>` +
      `<td class="n">${numbers.length ? num(numbers.reduce((a, b) => a + b, 0) / numbers.length, 2) : "–"}</td>` +
      `<td class="n">${last ? `${esc(valueText(last.value))}` : "–"}</td><td>${last ? esc(time(last.time)) : "–"}</td></tr>`;
  });
  const charts = variables.map((variable) => chart(variable, doc.series.filter((s) => s.variable === variable), doc.period, doc.timezone));
  const records = rows.map(({ s, r }) =>
    `<tr><td>${esc(time(r.time))}</td><td>${esc(s.deviceName)}</td><td>${esc(s.variable)}</td><td class="n">${esc(valueText(r.value))}</td><td>${esc(r.unit ?? "")}</td></tr>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.title)}</title>
<style>
  @page { size: A4; margin: 16mm 14mm 18mm 14mm; }
  body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10pt; color: #111827; margin: 0; }
  h1 { font-size: 18pt; margin: 0 0 2mm; }
  h2 { font-size: 12pt; margin: 7mm 0 2mm; }
  .meta { color: #4b5563; margin: 0 0 1mm; }
  .note { color: #92400e; margin: 1mm 0; }
  table { border-collapse: collapse; width: 100%; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  th, td { border-bottom: 1px solid #e5e7eb; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
  th { background: #f3f4f6; font-weight: bold; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  figure { margin: 2mm 0 4mm; break-inside: avoid; }
  figcaption { font-weight: bold; margin-bottom: 1mm; }
  .legend span { display: inline-block; margin-right: 4mm; }
  .legend i { display: inline-block; width: 3mm; height: 3mm; margin-right: 1mm; vertical-align: middle; }
  svg text { font-family: inherit; font-size: 8pt; fill: #374151; }
</style></head>
<body>
<h1>${esc(doc.title)}</h1>
<p class="meta">${esc(time(doc.period.start))} – ${esc(time(doc.period.end))} (${esc(doc.timezone)}) · generated ${esc(time(doc.generatedAt))}</p>
${doc.notes.map((n) => `<p class="note">${esc(n)}</p>`).join("\n")}
<h2>Summary</h2>
<table><thead><tr><th>Device</th><th>Variable</th><th>Unit</th><th class="n">Records</th><th class="n">Min</th><th class="n">Max</th><th class="n">Average</th><th class="n">Last</th><th>Last at</th></tr></thead>
<tbody>${summary.join("\n")}</tbody></table>
${charts.length ? `<h2>Charts</h2>\n${charts.join("\n")}` : ""}
<h2>Records</h2>
${records.length ? `<table><thead><tr><th>Time</th><th>Device</th><th>Variable</th><th class="n">Value</th><th>Unit</th></tr></thead>\n<tbody>${records.join("\n")}</tbody></table>` : "<p>No records in this period.</p>"}
</body></html>`;
}

/** The records as CSV (RFC 4180), oldest first; times in ISO 8601 UTC. */
export function renderCsv(series: Series[]): string {
  const lines = ["time,device_id,device,variable,value,unit,group"];
  const rows = series.flatMap((s) => s.records.map((r) => ({ s, r }))).sort((a, b) => a.r.time.getTime() - b.r.time.getTime());
  for (const { s, r } of rows) {
    lines.push([r.time.toISOString(), s.deviceId, s.deviceName, s.variable, r.value === null ? "" : r.value, r.unit ?? "", r.group].map(csvField).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/**
 * A CSV field, quoted when needed. Text a spreadsheet would read as a formula (`=`, `+`, `-`,
 * `@`, tab, CR at its start) gets a leading `'`: report values come from devices.
 */
function csvField(value: string | number | boolean): string {
  if (typeof value !== "string") return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function chart(variable: string, series: Series[], period: { start: Date; end: Date }, timezone: string): string {
  const numeric = series.map((s) => ({ s, points: s.records.filter((r) => typeof r.value === "number").map((r) => ({ t: r.time.getTime(), v: r.value as number })) }));
  const all = numeric.flatMap((n) => n.points);
  if (all.length === 0) return "";
  const t0 = period.start.getTime();
  const t1 = Math.max(period.end.getTime(), t0 + 1);
  let lo = Math.min(...all.map((p) => p.v));
  let hi = Math.max(...all.map((p) => p.v));
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const ticks = niceTicks(lo, hi, 5);
  lo = Math.min(lo, ticks[0]!);
  hi = Math.max(hi, ticks.at(-1)!);
  const w = CHART.width - CHART.left - CHART.right;
  const h = CHART.height - CHART.top - CHART.bottom;
  const x = (t: number) => CHART.left + ((t - t0) / (t1 - t0)) * w;
  const y = (v: number) => CHART.top + h - ((v - lo) / (hi - lo)) * h;
  const parts: string[] = [];
  for (const tick of ticks) {
    parts.push(`<line x1="${CHART.left}" x2="${CHART.left + w}" y1="${f(y(tick))}" y2="${f(y(tick))}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${CHART.left - 6}" y="${f(y(tick) + 3)}" text-anchor="end">${esc(num(tick))}</text>`);
  }
  const label = axisLabel(t1 - t0, timezone);
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    parts.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${CHART.top + h}" y2="${CHART.top + h + 4}" stroke="#9ca3af"/>`);
    parts.push(`<text x="${f(x(t))}" y="${CHART.top + h + 16}" text-anchor="${i === 0 ? "start" : i === 4 ? "end" : "middle"}">${esc(label(new Date(t)))}</text>`);
  }
  parts.push(`<rect x="${CHART.left}" y="${CHART.top}" width="${w}" height="${h}" fill="none" stroke="#9ca3af"/>`);
  numeric.forEach(({ points }, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const drawn = downsample(points.sort((a, b) => a.t - b.t), t0, t1);
    if (drawn.length === 1) parts.push(`<circle cx="${f(x(drawn[0]!.t))}" cy="${f(y(drawn[0]!.v))}" r="2.5" fill="${color}"/>`);
    else if (drawn.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${drawn.map((p) => `${f(x(p.t))},${f(y(p.v))}`).join(" ")}"/>`);
  });
  const legend = series.map((s, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(s.deviceName)}</span>`).join("");
  const unit = series.map(unitOf).find((u) => u !== "") ?? "";
  return `<figure><figcaption>${esc(variable)}${unit ? ` (${esc(unit)})` : ""}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" width="${CHART.width}" height="${CHART.height}" viewBox="0 0 ${CHART.width} ${CHART.height}">${parts.join("")}</svg>
<div class="legend">${legend}</div></figure>`;
}

/** At most MAX_POINTS: per column of the chart, its first, lowest and highest point, in time order. */
function downsample(points: { t: number; v: number }[], t0: number, t1: number): { t: number; v: number }[] {
  if (points.length <= MAX_POINTS) return points;
  const columns = Math.floor(MAX_POINTS / 3);
  const out: { t: number; v: number }[] = [];
  let column = -1;
  let bucket: { t: number; v: number }[] = [];
  const flush = () => {
    if (bucket.length === 0) return;
    const first = bucket[0]!;
    const min = bucket.reduce((a, b) => (b.v < a.v ? b : a));
    const max = bucket.reduce((a, b) => (b.v > a.v ? b : a));
    out.push(...[...new Set([first, min, max])].sort((a, b) => a.t - b.t));
    bucket = [];
  };
  for (const p of points) {
    const c = Math.min(columns - 1, Math.max(0, Math.floor(((p.t - t0) / (t1 - t0)) * columns)));
    if (c !== column) {
      flush();
      column = c;
    }
    bucket.push(p);
  }
  flush();
  return out;
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step / 2 && ticks.length < 20; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks.at(-1)! < hi) ticks.push(Number((ticks.at(-1)! + step).toPrecision(12)));
  return ticks;
}

function axisLabel(spanMs: number, timezone: string): (d: Date) => string {
  const parts = (d: Date) => partsIn(d, timezone);
  if (spanMs <= 36 * 3600_000) return (d) => { const p = parts(d); return `${p.hour}:${p.minute}`; };
  if (spanMs <= 10 * 86_400_000) return (d) => { const p = parts(d); return `${p.month}-${p.day} ${p.hour}:${p.minute}`; };
  return (d) => { const p = parts(d); return `${p.year}-${p.month}-${p.day}`; };
}

/** "2026-03-01 08:15:00" in the zone. */
export function timeFormatter(timezone: string): (d: Date) => string {
  return (d) => {
    const p = partsIn(d, timezone);
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(d: Date, timezone: string): Record<"year" | "month" | "day" | "hour" | "minute" | "second", string> {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-GB", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    formatters.set(timezone, format);
  }
  const out: Record<string, string> = {};
  for (const part of format.formatToParts(d)) out[part.type] = part.value;
  return out as Record<"year" | "month" | "day" | "hour" | "minute" | "second", string>;
}

function unitOf(s: Series): string {
  return s.records.find((r) => r.unit)?.unit ?? "";
}

function valueText(value: RecordValue | null): string {
  if (value === null) return "";
  return typeof value === "number" ? num(value) : String(value);
}

/** A number as people read it in a table: integers as they are, others to at most `digits` decimals. */
function num(value: number, digits = 3): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toFixed(digits)));
}

function f(n: number): string {
  return n.toFixed(1);
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
