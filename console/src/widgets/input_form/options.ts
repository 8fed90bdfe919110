import { flag, oneOf, optionalFinite, record, text } from "../display_read.js";

export const FIELD_TYPES = ["number", "text", "boolean"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FormField {
  /** The variable its record is stored as. */
  variable: string;
  label: string;
  type: FieldType;
  required: boolean;
  /** A number's bounds, or a text's length bounds. */
  min?: number;
  max?: number;
}

export interface InputFormOptions {
  fields: FormField[];
  submit_text: string;
  success_text: string;
}

/** A form of more fields than this is a data import, not a form. */
export const MAX_FIELDS = 30;

export function defaults(): InputFormOptions {
  return { fields: [{ variable: "setpoint", label: "Setpoint", type: "number", required: true }], submit_text: "Send", success_text: "Sent" };
}

export function parse(display: unknown): InputFormOptions {
  const d = record(display);
  const fields = (Array.isArray(d.fields) ? d.fields : []).slice(0, MAX_FIELDS).map((raw): FormField => {
    const f = record(raw);
    const min = optionalFinite(f.min);
    const max = optionalFinite(f.max);
    return {
      variable: text(f.variable, "", 100),
      label: text(f.label, "", 100),
      type: oneOf(f.type, FIELD_TYPES, "text"),
      required: flag(f.required, false),
      ...(min !== undefined && { min }),
      ...(max !== undefined && { max }),
    };
  });
  return { fields, submit_text: text(d.submit_text, "Send", 50), success_text: text(d.success_text, "Sent", 200) };
}

/**
 * What a field's input holds, as the record's value, or why it cannot be sent. `undefined`
 * value: an empty optional field, which sends no record.
 */
export function fieldValue(field: FormField, raw: string | boolean): { value: string | number | boolean | undefined } | { error: string } {
  const name = field.label || field.variable;
  if (field.type === "boolean") return { value: raw === true };
  const s = String(raw);
  if (s.trim() === "") return field.required ? { error: `${name} is required` } : { value: undefined };
  if (field.type === "number") {
    const n = Number(s);
    if (!Number.isFinite(n)) return { error: `${name} must be a number` };
    if (field.min !== undefined && n < field.min) return { error: `${name} must be at least ${field.min}` };
    if (field.max !== undefined && n > field.max) return { error: `${name} must be at most ${field.max}` };
    return { value: n };
  }
  if (field.min !== undefined && s.length < field.min) return { error: `${name} must be at least ${field.min} characters` };
  if (field.max !== undefined && s.length > field.max) return { error: `${name} must be at most ${field.max} characters` };
  return { value: s };
}
