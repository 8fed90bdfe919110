/**
 * A secret shown masked (its first 8 characters, the rest hidden), with Show/Hide and Copy:
 * a token on screen stays unreadable over a shoulder until its owner asks to see it.
 */
import { useState } from "preact/hooks";
import { CopyButton } from "./copy_button.js";
import "../styles/secret_text.css";

export function SecretText({ value, label }: { value: string; label: string }) {
  const [shown, setShown] = useState(false);
  const masked = `${value.slice(0, 8)}${"•".repeat(Math.max(4, Math.min(24, value.length - 8)))}`;
  return (
    <span class="secret-text">
      <code class="mono" aria-label={shown ? label : `${label}, hidden`}>
        {shown ? value : masked}
      </code>
      <button type="button" class="btn small" aria-pressed={shown} aria-label={`${shown ? "Hide" : "Show"} ${label}`} onClick={() => setShown(!shown)}>
        {shown ? "Hide" : "Show"}
      </button>
      <CopyButton text={value} label={label} />
    </span>
  );
}
