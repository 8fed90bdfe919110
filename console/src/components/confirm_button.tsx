/**
 * A button that asks before doing something that cannot be undone: it opens a modal dialog
 * (the browser's <dialog>: focus moves in and stays, Escape cancels) with the question, and runs
 * `onConfirm` only on the explicit confirming button.
 */
import type { ComponentChildren } from "preact";
import { useRef } from "preact/hooks";
import "../styles/dialog.css";

export interface ConfirmButtonProps {
  /** The button's text (and accessible name unless `label` is given). */
  children: ComponentChildren;
  label?: string;
  /** The dialog's title, e.g. "Delete 3 records?". */
  title: string;
  /** What will happen, in a sentence or two. */
  message?: ComponentChildren;
  /** The confirming button's text, e.g. "Delete". */
  confirm: string;
  onConfirm: () => void;
  disabled?: boolean;
  class?: string;
}

let dialogs = 0;

export function ConfirmButton(props: ConfirmButtonProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useRef(`confirm-${++dialogs}`).current;
  const close = () => dialog.current?.close();
  return (
    <>
      <button type="button" class={props.class ?? "btn danger"} aria-label={props.label} disabled={props.disabled} onClick={() => dialog.current?.showModal()}>
        {props.children}
      </button>
      <dialog ref={dialog} class="confirm-dialog" aria-labelledby={titleId}>
        <h2 id={titleId}>{props.title}</h2>
        {props.message && <div class="confirm-message">{props.message}</div>}
        <div class="confirm-buttons">
          <button type="button" class="btn" onClick={close} autoFocus>
            Cancel
          </button>
          <button
            type="button"
            class="btn danger"
            onClick={() => {
              close();
              props.onConfirm();
            }}
          >
            {props.confirm}
          </button>
        </div>
      </dialog>
    </>
  );
}
