import type { EditorProps } from "../types.js";
import { TargetEditor } from "../controls/target_editor.js";
import type { SwitchOptions } from "./options.js";

export function SwitchEditor({ options: o, onChange, sources }: EditorProps<SwitchOptions>) {
  return (
    <>
      <label>
        Text when on
        <input value={o.on_text} maxLength={50} onInput={(e) => onChange({ ...o, on_text: e.currentTarget.value })} />
      </label>
      <label>
        Text when off
        <input value={o.off_text} maxLength={50} onInput={(e) => onChange({ ...o, off_text: e.currentTarget.value })} />
      </label>
      <TargetEditor options={o} onChange={onChange} sources={sources} variableHint="Its last value is the switch's state (true/false, 1/0, on/off); sends true or false." />
    </>
  );
}
