/**
 * The dial's drawing: a half circle from min (left) to max (right), the value's arc over a
 * track, an outer ring of the threshold bands, the value and unit in the middle. SVG in a fixed
 * viewBox scaled to the widget; text takes the theme's colours, only marks take the thresholds'.
 */
import { formatNumber } from "../fields/format.js";
import type { Threshold } from "../fields/thresholds.js";

const CX = 100;
const CY = 100;
const R = 78;
const RING = 94;

function point(share: number, r: number): [number, number] {
  const angle = Math.PI * (1 - share);
  return [CX + r * Math.cos(angle), CY - r * Math.sin(angle)];
}

/** An arc of the half circle between two shares of the scale (0 = min, 1 = max). */
export function arcPath(from: number, to: number, r: number): string {
  const [x0, y0] = point(from, r);
  const [x1, y1] = point(to, r);
  return `M ${x0.toFixed(2)} ${y0.toFixed(2)} A ${r} ${r} 0 0 1 ${x1.toFixed(2)} ${y1.toFixed(2)}`;
}

interface Props {
  value: number;
  min: number;
  max: number;
  unit: string;
  decimals: number | null;
  thresholds: Threshold[];
  color: string;
}

export function DialSvg({ value, min, max, unit, decimals, thresholds, color }: Props) {
  const share = (v: number) => Math.min(1, Math.max(0, (v - min) / (max - min)));
  const bands = thresholds
    .filter((t) => t.value < max)
    .map((t, i, all) => ({ from: share(t.value), to: share(all[i + 1]?.value ?? max), color: t.color }))
    .filter((b) => b.to > b.from);
  const filled = share(value);
  return (
    <svg viewBox="0 0 200 122" class="dial-svg" aria-hidden="true" focusable="false">
      <path d={arcPath(0, 1, R)} class="dial-track" />
      {filled > 0 && <path d={arcPath(0, filled, R)} class="dial-value" style={{ stroke: color }} />}
      {bands.map((b) => (
        <path key={`${b.from}-${b.to}`} d={arcPath(b.from, b.to, RING)} class="dial-band" style={{ stroke: b.color }} />
      ))}
      <text x={CX} y={CY - 12} class="dial-number">
        {formatNumber(value, decimals)}
      </text>
      {unit && (
        <text x={CX} y={CY + 8} class="dial-unit">
          {unit}
        </text>
      )}
      <text x={CX - R} y={CY + 18} class="dial-bound">
        {formatNumber(min, null)}
      </text>
      <text x={CX + R} y={CY + 18} class="dial-bound">
        {formatNumber(max, null)}
      </text>
    </svg>
  );
}
