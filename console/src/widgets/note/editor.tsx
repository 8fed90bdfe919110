import "../../styles/widget_parts.css";
import type { EditorProps } from "../types.js";
import { MAX_NOTE_CHARS, type NoteOptions } from "./options.js";

export function NoteEditor({ options: o, onChange }: EditorProps<NoteOptions>) {
  return (
    <label>
      Text (Markdown)
      <textarea rows={10} maxLength={MAX_NOTE_CHARS} value={o.markdown} onInput={(e) => onChange({ ...o, markdown: e.currentTarget.value })} />
      <span class="muted small">Headings, lists, links, emphasis, code. HTML is shown as text, not run.</span>
    </label>
  );
}
