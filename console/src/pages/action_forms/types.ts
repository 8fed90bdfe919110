/**
 * The action page's form registry: one module per trigger kind and per action type, each
 * exporting a TriggerForm or an ActionForm, listed in index.ts. A new kind or type is one new
 * file and one line there. Forms edit the action as the API takes it (`ActionInputJson`), and
 * send what was typed: the API validates and its words are shown.
 */
import type { ComponentType } from "preact";
import type { ActionParams, TagJson, Trigger, TriggerKind } from "../../../../src/http/api_types.js";

/** The action being edited, in the shape `POST /action` and `PUT /action/:id` take. */
export interface ActionDraft {
  name: string;
  active: boolean;
  description: string;
  tags: TagJson[];
  type: TriggerKind;
  trigger: Trigger[];
  action: ActionParams;
  trigger_when_unlock: boolean;
}

export interface TriggerFormProps {
  draft: ActionDraft;
  update: (patch: Partial<ActionDraft>) => void;
}

export interface TriggerForm {
  kind: TriggerKind;
  label: string;
  /** One sentence: when the action runs. */
  help: string;
  /** The rows a new action of this kind starts with. */
  initial: () => Trigger[];
  Form: ComponentType<TriggerFormProps>;
}

export interface ActionFormProps {
  params: ActionParams;
  update: (params: ActionParams) => void;
}

export interface ActionForm {
  type: string;
  label: string;
  help: string;
  initial: () => ActionParams;
  Form: ComponentType<ActionFormProps>;
}

/** A field of an untyped object (action params, a trigger row) as text for an input. */
export function text(value: unknown): string {
  return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
}

/**
 * Typed text for a numeric field: the number when it reads as one, else the text itself, so
 * the API (not the browser) refuses it in its own words. Typed as a number for the JSON shape.
 */
export function numberField(input: string): number {
  const t = input.trim();
  return (t !== "" && Number.isFinite(Number(t)) ? Number(t) : input) as number;
}
