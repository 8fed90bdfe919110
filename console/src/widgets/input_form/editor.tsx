import "../../styles/widget_parts.css";
import type { EditorProps } from "../types.js";
import { FIELD_TYPES, MAX_FIELDS, type FieldType, type FormField, type InputFormOptions } from "./options.js";

export function InputFormEditor({ options: o, onChange }: EditorProps<InputFormOptions>) {
  const setField = (i: number, patch: Partial<FormField>) => onChange({ ...o, fields: o.fields.map((f, j) => (j === i ? { ...f, ...patch } : f)) });
  const bound = (i: number, key: "min" | "max") => (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const field = { ...o.fields[i]! };
    if (input.value === "" || !Number.isFinite(input.valueAsNumber)) delete field[key];
    else field[key] = input.valueAsNumber;
    onChange({ ...o, fields: o.fields.map((f, j) => (j === i ? field : f)) });
  };
  return (
    <>
      {o.fields.map((f, i) => (
        <fieldset key={i} class="widget-fieldset">
          <legend>Field {i + 1}</legend>
          <div class="widget-field-row">
            <label>
              Label
              <input value={f.label} maxLength={100} onInput={(e) => setField(i, { label: e.currentTarget.value })} />
            </label>
            <label>
              Variable
              <input value={f.variable} maxLength={100} required onInput={(e) => setField(i, { variable: e.currentTarget.value.trim().toLowerCase() })} />
            </label>
            <label>
              Type
              <select value={f.type} onChange={(e) => setField(i, { type: e.currentTarget.value as FieldType })}>
                {FIELD_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </label>
          </div>
          {f.type !== "boolean" && (
            <div class="widget-field-row">
              <label>
                {f.type === "number" ? "Minimum" : "Shortest"}
                <input type="number" value={f.min ?? ""} onInput={bound(i, "min")} />
              </label>
              <label>
                {f.type === "number" ? "Maximum" : "Longest"}
                <input type="number" value={f.max ?? ""} onInput={bound(i, "max")} />
              </label>
              <label class="inline">
                <input type="checkbox" checked={f.required} onChange={(e) => setField(i, { required: e.currentTarget.checked })} />
                Required
              </label>
            </div>
          )}
          <button type="button" class="btn small" onClick={() => onChange({ ...o, fields: o.fields.filter((_, j) => j !== i) })}>
            Remove field {i + 1}
          </button>
        </fieldset>
      ))}
      <button
        type="button"
        class="btn small"
        disabled={o.fields.length >= MAX_FIELDS}
        onClick={() => onChange({ ...o, fields: [...o.fields, { variable: "", label: "", type: "text", required: false }] })}
      >
        Add a field
      </button>
      <label>
        Button text
        <input value={o.submit_text} maxLength={50} onInput={(e) => onChange({ ...o, submit_text: e.currentTarget.value })} />
      </label>
      <label>
        Message after sending
        <input value={o.success_text} maxLength={200} onInput={(e) => onChange({ ...o, success_text: e.currentTarget.value })} />
      </label>
    </>
  );
}
