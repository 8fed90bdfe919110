/** A list of key/value pairs (webhook headers, the action's tags), each removable. */
export interface Pair {
  key: string;
  value: string;
}

export function KeyValues({ legend, pairs, onChange, keyLabel = "Name", valueLabel = "Value" }: { legend: string; pairs: Pair[]; onChange: (pairs: Pair[]) => void; keyLabel?: string; valueLabel?: string }) {
  const set = (i: number, pair: Pair) => onChange(pairs.map((p, j) => (j === i ? pair : p)));
  return (
    <fieldset class="key-values">
      <legend>{legend}</legend>
      {pairs.length === 0 && <p class="muted small">None.</p>}
      {pairs.map((pair, i) => (
        <div class="form-pair" key={i}>
          <label>
            {keyLabel} {i + 1}
            <input type="text" value={pair.key} onInput={(e) => set(i, { ...pair, key: e.currentTarget.value })} />
          </label>
          <label>
            {valueLabel} {i + 1}
            <input type="text" value={pair.value} onInput={(e) => set(i, { ...pair, value: e.currentTarget.value })} />
          </label>
          <button type="button" class="btn small" onClick={() => onChange(pairs.filter((_, j) => j !== i))} aria-label={`Remove ${keyLabel.toLowerCase()} ${i + 1}`}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" class="btn small" onClick={() => onChange([...pairs, { key: "", value: "" }])}>
        Add {keyLabel.toLowerCase()}
      </button>
    </fieldset>
  );
}
