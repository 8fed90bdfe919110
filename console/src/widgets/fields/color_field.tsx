/** A colour option (`#rrggbb`, the browser's own picker). */
export function ColorField({ label, value, onChange }: { label: string; value: string; onChange(value: string): void }) {
  return (
    <label class="inline widget-color-field">
      <input type="color" value={value} onInput={(e) => onChange(e.currentTarget.value)} />
      {label}
    </label>
  );
}
