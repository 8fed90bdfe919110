/**
 * A button for what cannot be undone (delete, revoke, regenerate): the first press asks in
 * place, the second does it. No modal: focus moves to the confirming button, Escape or
 * "Cancel" step back, and the API's error (a 409, say) shows beside it as the API words it.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorText } from "./error_text.js";
import "../styles/inline_confirm.css";

export interface InlineConfirmProps {
  /** The button's text ("Delete"). */
  label: string;
  /** What is asked ("Delete this relay?"). */
  question: string;
  /** The confirming button's text ("Yes, delete"). */
  confirmLabel?: string;
  /** A longer accessible name when `label` alone is ambiguous in a list ("Revoke token “ci”"). */
  ariaLabel?: string;
  onConfirm: () => Promise<void> | void;
  disabled?: boolean;
  small?: boolean;
}

export function InlineConfirm(props: InlineConfirmProps) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const yes = useRef<HTMLButtonElement>(null);
  const first = useRef<HTMLButtonElement>(null);
  const size = props.small ? " small" : "";

  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);

  const cancel = () => {
    setAsking(false);
    // Back to the button that asked, so the keyboard user is where they were.
    queueMicrotask(() => first.current?.focus());
  };
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await props.onConfirm();
      setAsking(false);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <span class="confirm" onKeyDown={(e) => e.key === "Escape" && asking && cancel()}>
      {asking ? (
        <span class="confirm-ask" role="group" aria-label={props.question}>
          <span class="confirm-question">{props.question}</span>
          <button ref={yes} type="button" class={`btn danger${size}`} disabled={busy} onClick={() => void confirm()}>
            {busy ? "…" : (props.confirmLabel ?? `Yes, ${props.label.toLowerCase()}`)}
          </button>
          <button type="button" class={`btn${size}`} onClick={cancel}>
            Cancel
          </button>
        </span>
      ) : (
        <button ref={first} type="button" class={`btn danger${size}`} disabled={props.disabled} aria-label={props.ariaLabel} onClick={() => setAsking(true)}>
          {props.label}
        </button>
      )}
      <ErrorText error={error} />
    </span>
  );
}
