import "../../styles/widgets.css";
import { BaseColorField } from "../fields/base_color_field.js";
import { DecimalsField } from "../fields/decimals_field.js";
import { RangeField } from "../fields/range_field.js";
import { ThresholdsField } from "../fields/thresholds_field.js";
import { UnitField } from "../fields/unit_field.js";
import type { EditorProps } from "../types.js";
import type { DialOptions } from "./options.js";

export function DialEditor({ options, onChange }: EditorProps<DialOptions>) {
  const set = (patch: Partial<DialOptions>) => onChange({ ...options, ...patch });
  return (
    <div class="widget-editor">
      <RangeField
        min={options.min}
        max={options.max}
        optional={false}
        onChange={({ min, max }) => set({ ...(min !== null ? { min } : {}), ...(max !== null ? { max } : {}) })}
      />
      <div class="widget-field-row">
        <UnitField value={options.unit} onChange={(unit) => set({ unit })} />
        <DecimalsField value={options.decimals} onChange={(decimals) => set({ decimals })} />
      </div>
      <BaseColorField label="Colour of the value" value={options.color} themeDefault="#1d4ed8" onChange={(color) => set({ color })} />
      <ThresholdsField value={options.thresholds} onChange={(thresholds) => set({ thresholds })} hint="Drawn as bands around the dial; the value's arc takes the colour of the band it is in." />
    </div>
  );
}
