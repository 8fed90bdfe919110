/** Decimals shown: "as received" (null) or 0–6. */
export function DecimalsField({ value, onChange }: { value: number | null; onChange(value: number | null): void }) {
  return (
    <label>
      Decimals
      <select value={value === null ? "auto" : String(value)} onChange={(e) => onChange(e.currentTarget.value === "auto" ? null : Number(e.currentTarget.value))}>
        <option value="auto">As received (up to 2)</option>
        {[0, 1, 2, 3, 4, 5, 6].map((n) => (
          <option key={n} value={String(n)}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}
