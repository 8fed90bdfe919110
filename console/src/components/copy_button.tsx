import { useState } from "preact/hooks";

/**
 * Copies `text`; says so for two seconds. `label` names what is copied, for screen readers; the
 * accessible name starts with the visible word, whichever it shows (axe: label-content-name-mismatch).
 */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API refused (plain HTTP on another host): fall back to a selection copy.
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  return (
    <button type="button" class="btn small" onClick={copy} aria-label={`${copied ? "Copied" : "Copy"} ${label}`}>
      {copied ? "Copied" : "Copy"}
    </button>
  );
}
