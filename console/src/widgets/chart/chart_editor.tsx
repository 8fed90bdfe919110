/** The options form of the chart types: axis (unit, decimals, scale), thresholds, band, and each series' label and colour. */
import "../../styles/widgets.css";
import { ColorField } from "../fields/color_field.js";
import { DecimalsField } from "../fields/decimals_field.js";
import { RangeField } from "../fields/range_field.js";
import { ThresholdsField } from "../fields/thresholds_field.js";
import { UnitField } from "../fields/unit_field.js";
import type { EditorProps } from "../types.js";
import { PALETTE, type ChartOptions, type ChartStyle } from "./chart_options.js";
import { seriesKey } from "./series_store.js";

export function ChartEditor({ options, onChange, sources, style }: EditorProps<ChartOptions> & { style: ChartStyle }) {
  const set = (patch: Partial<ChartOptions>) => onChange({ ...options, ...patch });
  // One row per device × variable the sources name (a source listing none shows every variable: styled by the defaults).
  const rows = sources.flatMap((s) => (s.variables ?? []).map((variable) => ({ key: seriesKey(s.origin, variable.toLowerCase()), origin: s.origin, variable })));
  const several = new Set(rows.map((r) => r.origin)).size > 1;
  return (
    <div class="widget-editor">
      <fieldset class="widget-fieldset">
        <legend>Values</legend>
        <div class="widget-field-row">
          <UnitField value={options.unit} onChange={(unit) => set({ unit })} />
          <DecimalsField value={options.decimals} onChange={(decimals) => set({ decimals })} />
        </div>
        {style !== "bar" && (
          <label class="inline">
            <input type="checkbox" checked={options.band} onChange={(e) => set({ band: e.currentTarget.checked })} />
            Show each bucket's minimum–maximum band
          </label>
        )}
      </fieldset>
      <RangeField min={options.min} max={options.max} onChange={(r) => set(r)} />
      <ThresholdsField value={options.thresholds} onChange={(thresholds) => set({ thresholds })} hint="Drawn as horizontal lines in their colours." />
      {rows.length > 0 && (
        <fieldset class="widget-fieldset">
          <legend>Series</legend>
          {rows.map((row, i) => {
            const current = options.series[row.key] ?? { label: "", color: "" };
            const name = several ? `${row.variable} (${row.origin.slice(-6)})` : row.variable;
            const put = (patch: Partial<typeof current>) => set({ series: { ...options.series, [row.key]: { ...current, ...patch } } });
            return (
              <div key={row.key} class="widget-field-row">
                <label>
                  Label of {name}
                  <input type="text" value={current.label} maxLength={100} placeholder={name} onInput={(e) => put({ label: e.currentTarget.value })} />
                </label>
                <ColorField label={`Colour of ${name}`} value={current.color || PALETTE.light[i % PALETTE.light.length]!} onChange={(color) => put({ color })} />
              </div>
            );
          })}
        </fieldset>
      )}
    </div>
  );
}
