/** A colour that may be left to the theme (empty string): a picker, and a button back to the theme's. */
import { ColorField } from "./color_field.js";

export function BaseColorField({ label, value, themeDefault, onChange }: { label: string; value: string; themeDefault: string; onChange(value: string): void }) {
  return (
    <div class="widget-field-row widget-base-color">
      <ColorField label={value ? label : `${label} (the theme's)`} value={value || themeDefault} onChange={onChange} />
      {value && (
        <button type="button" class="btn small" onClick={() => onChange("")}>
          Use the theme's colour
        </button>
      )}
    </div>
  );
}
