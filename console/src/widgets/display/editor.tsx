import "../../styles/widgets.css";
import { BaseColorField } from "../fields/base_color_field.js";
import { DecimalsField } from "../fields/decimals_field.js";
import { ThresholdsField } from "../fields/thresholds_field.js";
import { UnitField } from "../fields/unit_field.js";
import type { EditorProps } from "../types.js";
import type { DisplayOptions } from "./options.js";

export function DisplayEditor({ options, onChange }: EditorProps<DisplayOptions>) {
  const set = (patch: Partial<DisplayOptions>) => onChange({ ...options, ...patch });
  return (
    <div class="widget-editor">
      <div class="widget-field-row">
        <UnitField value={options.unit} onChange={(unit) => set({ unit })} />
        <DecimalsField value={options.decimals} onChange={(decimals) => set({ decimals })} />
      </div>
      <BaseColorField label="Colour" value={options.color} themeDefault="#1d4ed8" onChange={(color) => set({ color })} />
      <ThresholdsField value={options.thresholds} onChange={(thresholds) => set({ thresholds })} />
      <label class="inline">
        <input type="checkbox" checked={options.showTime} onChange={(e) => set({ showTime: e.currentTarget.checked })} />
        Show when the value arrived
      </label>
    </div>
  );
}
