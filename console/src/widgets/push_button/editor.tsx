import { HintedField } from "../hinted_field.js";
import type { EditorProps } from "../types.js";
import { TargetEditor } from "../controls/target_editor.js";
import { buttonValue, VALUE_TYPES, type PushButtonOptions } from "./options.js";

export function PushButtonEditor({ options: o, onChange, sources }: EditorProps<PushButtonOptions>) {
  const checked = buttonValue(o);
  return (
    <>
      <label>
        Button text
        <input value={o.text} maxLength={100} onInput={(e) => onChange({ ...o, text: e.currentTarget.value })} />
      </label>
      <HintedField label="Value sent" error={"error" in checked ? checked.error : undefined}>
        {(ids) => <input {...ids} value={o.value} maxLength={1024} onInput={(e) => onChange({ ...o, value: e.currentTarget.value })} />}
      </HintedField>
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
      <TargetEditor options={o} onChange={onChange} sources={sources} variableHint="Written with the value when the button sends a record." />
    </>
  );
}
