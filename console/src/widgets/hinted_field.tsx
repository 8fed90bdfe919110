/**
 * An editor field with a hint or an error under it: the label names the input alone, and the
 * hint is its description (`aria-describedby`), so a screen reader says "Topic, edit text"
 * and then the hint, rather than one long name.
 */
import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";

export interface FieldIds {
  id: string;
  "aria-describedby": string | undefined;
  "aria-invalid": boolean;
}

export function HintedField(props: { label: string; hint?: ComponentChildren; error?: string; children(ids: FieldIds): ComponentChildren }) {
  const id = useId();
  const hintId = `${id}-hint`;
  const shown = props.error ?? props.hint;
  return (
    <div class="widget-field">
      <label for={id}>{props.label}</label>
      {props.children({ id, "aria-describedby": shown === undefined ? undefined : hintId, "aria-invalid": props.error !== undefined })}
      {shown !== undefined && (
        <span id={hintId} class={props.error !== undefined ? "error small" : "muted small"}>
          {shown}
        </span>
      )}
    </div>
  );
}
