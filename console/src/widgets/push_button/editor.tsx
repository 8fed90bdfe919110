import type { EditorProps } from "../types.js";
import { TargetEditor } from "../controls/target_editor.js";
import { buttonValue, VALUE_TYPES, type PushButtonOptions } from "./options.js";

export function PushButtonEditor({ options: o, onChange }: EditorProps<PushButtonOptions>) {
  const checked = buttonValue(o);
  return (
    <>
      <label>
        Button text
        <input value={o.text} maxLength={100} onInput={(e) => onChange({ ...o, text: e.currentTarget.value })} />
      </label>
      <label>
        Value sent
        <input value={o.value} maxLength={1024} onInput={(e) => onChange({ ...o, value: e.currentTarget.value })} aria-invalid={"error" in checked} />
        {"error" in checked && <span class="error small">{checked.error}</span>}
      </label>
      <label>
        Value type
        <select value={o.value_type} onChange={(e) => onChange({ ...o, value_type: e.currentTarget.value as PushButtonOptions["value_type"] })}>
          {VALUE_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <TargetEditor options={o} onChange={onChange} variableHint="Written with the value when the button sends a record." />
    </>
  );
}
