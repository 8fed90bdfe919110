import "../../styles/widget_parts.css";
import { HintedField } from "../hinted_field.js";
import type { EditorProps } from "../types.js";
import { MAX_NOTE_CHARS, type NoteOptions } from "./options.js";

export function NoteEditor({ options: o, onChange }: EditorProps<NoteOptions>) {
  return (
    <HintedField label="Text (Markdown)" hint="Headings, lists, links, emphasis, code. HTML is shown as text, not run.">
      {(ids) => <textarea {...ids} rows={10} maxLength={MAX_NOTE_CHARS} value={o.markdown} onInput={(e) => onChange({ ...o, markdown: e.currentTarget.value })} />}
    </HintedField>
  );
}
