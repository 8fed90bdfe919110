import type { EditorProps } from "../types.js";
import { TargetEditor } from "../controls/target_editor.js";
import type { SliderOptions } from "./options.js";

export function SliderEditor({ options: o, onChange, sources }: EditorProps<SliderOptions>) {
  const num = (key: "min" | "max" | "step") => (e: Event) => {
    const n = (e.currentTarget as HTMLInputElement).valueAsNumber;
    if (Number.isFinite(n)) onChange({ ...o, [key]: n });
  };
  return (
    <>
      <div class="widget-field-row">
        <label>
          Minimum
          <input type="number" value={o.min} onInput={num("min")} />
        </label>
        <label>
          Maximum
          <input type="number" value={o.max} min={o.min} onInput={num("max")} />
        </label>
        <label>
          Step
          <input type="number" value={o.step} min={0} step="any" onInput={num("step")} />
        </label>
      </div>
      {o.max < o.min && <p class="error small">The maximum is below the minimum.</p>}
      <label>
        Unit
        <input value={o.unit} maxLength={20} onInput={(e) => onChange({ ...o, unit: e.currentTarget.value })} />
      </label>
      <TargetEditor options={o} onChange={onChange} sources={sources} variableHint="Its last value is where the slider starts; a record of it is sent on release." />
    </>
  );
}
