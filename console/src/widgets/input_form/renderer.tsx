import { useState } from "preact/hooks";
import type { DataRecordInputJson } from "../../../../src/http/api_types.js";
import type { RendererProps } from "../types.js";
import { READ_ONLY_REASON } from "../controls/control_parts.js";
import { deviceOf } from "../controls/use_control.js";
import { useWidgetData } from "../use_widget_data.js";
import { fieldValue, type InputFormOptions } from "./options.js";
import "../../styles/widget_controls.css";

/** Records of a form: one per filled field, each named by its variable. */
export function FormRenderer({ widget, options, ctx }: RendererProps<InputFormOptions>) {
  // Read for the device it names (a blueprint slot's device is the one the data came from).
  const { data } = useWidgetData(ctx, widget, { query: { qty: 1 }, read: (results) => ({ device: results[0]?.device ?? undefined }), merge: (current) => current });
  const [values, setValues] = useState<Record<number, string | boolean>>({});
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string } | undefined>(undefined);
  const [invalid, setInvalid] = useState<Record<number, string>>({});

  const submit = async (e: Event) => {
    e.preventDefault();
    setOutcome(undefined);
    const errors: Record<number, string> = {};
    const records: (DataRecordInputJson & { origin: string })[] = [];
    const origin = deviceOf(ctx, widget, data);
    options.fields.forEach((field, i) => {
      const checked = fieldValue(field, values[i] ?? (field.type === "boolean" ? false : ""));
      if ("error" in checked) errors[i] = checked.error;
      else if (checked.value !== undefined && origin !== undefined) records.push({ origin, variable: field.variable, value: checked.value });
    });
    setInvalid(errors);
    if (Object.keys(errors).length > 0) return;
    if (origin === undefined) return setOutcome({ ok: false, message: "This widget reads no device: edit its data source." });
    if (records.length === 0) return setOutcome({ ok: false, message: "Nothing to send: every field is empty." });
    setBusy(true);
    try {
      await ctx.sendData(widget.id, records);
      setOutcome({ ok: true, message: options.success_text || "Sent" });
      setValues({});
    } catch (err) {
      setOutcome({ ok: false, message: err instanceof Error ? err.message : String(err) });
    } finally {
      setBusy(false);
    }
  };

  if (options.fields.length === 0) return <p class="muted widget-empty">No fields yet: edit the widget to add some.</p>;
  return (
    <form class="input-form" onSubmit={(e) => void submit(e)} noValidate title={ctx.readOnly ? READ_ONLY_REASON : undefined}>
      {options.fields.map((field, i) => {
        const id = `form-${widget.id}-${i}`;
        const error = invalid[i];
        const common = { id, disabled: ctx.readOnly || busy, "aria-invalid": error !== undefined, "aria-describedby": error !== undefined ? `${id}-error` : undefined };
        return (
          <div key={i} class="input-form-field">
            {field.type === "boolean" ? (
              <label class="inline" for={id}>
                <input type="checkbox" {...common} checked={values[i] === true} onChange={(e) => setValues({ ...values, [i]: e.currentTarget.checked })} />
                {field.label || field.variable}
              </label>
            ) : (
              <label for={id}>
                <span>
                  {field.label || field.variable}
                  {field.required && <span aria-hidden="true"> *</span>}
                </span>
                {field.type === "number" ? (
                  <input
                    {...common}
                    type="number"
                    step="any"
                    required={field.required}
                    min={field.min}
                    max={field.max}
                    value={typeof values[i] === "string" ? (values[i] as string) : ""}
                    onInput={(e) => setValues({ ...values, [i]: e.currentTarget.value })}
                  />
                ) : (
                  <input
                    {...common}
                    type="text"
                    required={field.required}
                    value={typeof values[i] === "string" ? (values[i] as string) : ""}
                    onInput={(e) => setValues({ ...values, [i]: e.currentTarget.value })}
                  />
                )}
              </label>
            )}
            {error !== undefined && (
              <span id={`${id}-error`} class="error small">
                {error}
              </span>
            )}
          </div>
        );
      })}
      <div class="input-form-actions">
        <button type="submit" class="btn primary" disabled={ctx.readOnly || busy}>
          {busy ? "Sending…" : options.submit_text || "Send"}
        </button>
        {ctx.readOnly && <span class="muted small">Read only</span>}
        {outcome && (
          <span class={outcome.ok ? "ok" : "error"} role={outcome.ok ? "status" : "alert"} title={outcome.ok ? undefined : outcome.message}>
            {outcome.message}
          </span>
        )}
      </div>
    </form>
  );
}
