/**
 * A message payload as text, hex or pretty JSON, with a selector. The inspector keeps a preview
 * of each payload (its first bytes, as text when they read as UTF-8, else hex): this turns
 * either into the three views, and says when the preview is shorter than the payload.
 */
import { useId, useState } from "preact/hooks";
import "../styles/payload_view.css";
import "../styles/segmented.css";

export interface PayloadPreview {
  bytes: number;
  text?: string;
  hex?: string;
  truncated: boolean;
}

type Mode = "text" | "hex" | "json";

export function isPayloadPreview(value: unknown): value is PayloadPreview {
  const v = value as PayloadPreview | null;
  return typeof v === "object" && v !== null && typeof v.bytes === "number" && (typeof v.text === "string" || typeof v.hex === "string");
}

function bytesOf(preview: PayloadPreview): Uint8Array {
  if (preview.text !== undefined) return new TextEncoder().encode(preview.text);
  const hex = preview.hex ?? "";
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Eight bytes a line (fits the detail panel and a phone without wrapping): the offset, the bytes,
 * and the printable ASCII beside them, as a hex viewer shows them.
 */
function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    const chunk = bytes.subarray(at, at + 8);
    const hex = Array.from(chunk, (b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = Array.from(chunk, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${at.toString(16).padStart(4, "0")}  ${hex.padEnd(23)}  ${ascii}`);
  }
  return lines.join("\n");
}

function asText(preview: PayloadPreview): string {
  return preview.text ?? new TextDecoder("utf-8", { fatal: false }).decode(bytesOf(preview));
}

function asJson(preview: PayloadPreview): { ok: true; text: string } | { ok: false; error: string } {
  try {
    return { ok: true, text: JSON.stringify(JSON.parse(asText(preview)), null, 2) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** JSON when it parses, else text when it is text, else hex: what a reader most likely wants first. */
function defaultMode(preview: PayloadPreview): Mode {
  if (preview.text === undefined) return "hex";
  return asJson(preview).ok ? "json" : "text";
}

export function PayloadView({ preview, label = "Payload" }: { preview: PayloadPreview; label?: string }) {
  const [mode, setMode] = useState<Mode>(() => defaultMode(preview));
  const name = useId();
  let body: string;
  let note: string | undefined;
  if (mode === "hex") body = hexDump(bytesOf(preview));
  else if (mode === "text") body = asText(preview);
  else {
    const json = asJson(preview);
    body = json.ok ? json.text : asText(preview);
    if (!json.ok) note = `Not JSON: ${json.error}`;
  }
  const shown = preview.text !== undefined ? new TextEncoder().encode(preview.text).length : (preview.hex?.length ?? 0) / 2;
  return (
    <div class="payload-view">
      <fieldset class="segmented">
        <legend>
          {label} <span class="muted">({preview.bytes} B{preview.truncated ? `, first ${shown} B kept` : ""})</span>
        </legend>
        {(["text", "hex", "json"] as const).map((m) => (
          <label key={m} class={mode === m ? "on" : undefined}>
            <input type="radio" name={name} value={m} checked={mode === m} onChange={() => setMode(m)} />
            {m === "json" ? "JSON" : m === "hex" ? "Hex" : "Text"}
          </label>
        ))}
      </fieldset>
      {note && <p class="muted payload-note">{note}</p>}
      <pre class="payload-body" data-mode={mode} tabIndex={0} aria-label={`${label} as ${mode === "json" ? "JSON" : mode}`}>{body}</pre>
    </div>
  );
}
