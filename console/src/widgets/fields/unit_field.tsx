/** The unit shown after values ("°C", "kWh"); empty: none (records' own unit is not read: one unit per widget). */
export function UnitField({ value, onChange }: { value: string; onChange(value: string): void }) {
  return (
    <label>
      Unit
      <input type="text" value={value} maxLength={20} placeholder="e.g. °C" onInput={(e) => onChange(e.currentTarget.value)} />
    </label>
  );
}
