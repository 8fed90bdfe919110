import "../../styles/widgets.css";
import { BaseColorField } from "../fields/base_color_field.js";
import { DecimalsField } from "../fields/decimals_field.js";
import { ThresholdsField } from "../fields/thresholds_field.js";
import { UnitField } from "../fields/unit_field.js";
import type { EditorProps } from "../types.js";
import type { CardOptions } from "./options.js";

export function CardEditor({ options, onChange, sources }: EditorProps<CardOptions>) {
  const set = (patch: Partial<CardOptions>) => onChange({ ...options, ...patch });
  return (
    <div class="widget-editor">
      <label>
        Caption
        <input type="text" value={options.caption} maxLength={100} placeholder={sources[0]?.variables?.[0] ?? "the variable's name"} onInput={(e) => set({ caption: e.currentTarget.value })} />
      </label>
      <div class="widget-field-row">
        <UnitField value={options.unit} onChange={(unit) => set({ unit })} />
        <DecimalsField value={options.decimals} onChange={(decimals) => set({ decimals })} />
      </div>
      <BaseColorField label="Colour" value={options.color} themeDefault="#1d4ed8" onChange={(color) => set({ color })} />
      <ThresholdsField value={options.thresholds} onChange={(thresholds) => set({ thresholds })} />
      <label class="inline">
        <input type="checkbox" checked={options.showTrend} onChange={(e) => set({ showTrend: e.currentTarget.checked })} />
        Show the change since the value before
      </label>
      <label class="inline">
        <input type="checkbox" checked={options.showTime} onChange={(e) => set({ showTime: e.currentTarget.checked })} />
        Show when the value arrived
      </label>
    </div>
  );
}
