/**
 * A PEM file (CA, client certificate, private key) chosen from disk, read in the browser and
 * sent as text. A certificate is not secret and is shown by what it holds; a key is write-only:
 * the form only knows whether one is stored, and can replace or remove it.
 */
import { useState } from "preact/hooks";

export interface PemFieldProps {
  label: string;
  /** A certificate field's PEM, or null when none is set. */
  value?: string | null;
  onValue?: (pem: string | null) => void;
  /** For a write-only field: whether the server holds one now, and what the user chose. */
  secret?: { stored: boolean; change: "keep" | "set" | "clear"; onSet: (pem: string) => void; onClear: () => void; onKeep: () => void };
  hint?: string;
}

const MAX_BYTES = 64 * 1024;

export function PemField(props: PemFieldProps) {
  const [error, setError] = useState<string | undefined>(undefined);
  const [fileName, setFileName] = useState<string | undefined>(undefined);
  const id = `pem-${props.label.toLowerCase().replace(/[^a-z]+/g, "-")}`;

  const choose = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (!file) return;
    setError(undefined);
    if (file.size > MAX_BYTES) return setError(`${file.name} is larger than ${MAX_BYTES / 1024} KiB: not a PEM file`);
    const text = await file.text();
    // DER (binary) certificates are common too: say what to do rather than send garbage.
    if (!text.includes("-----BEGIN ")) return setError(`${file.name} is not PEM text (convert DER with: openssl x509 -inform der -in file -out file.pem)`);
    setFileName(file.name);
    if (props.secret) props.secret.onSet(text);
    else props.onValue?.(text);
    input.value = "";
  };

  const state = (() => {
    if (props.secret) {
      const { stored, change } = props.secret;
      if (change === "set") return `New: ${fileName ?? "chosen file"} (sent on save)`;
      if (change === "clear") return "Will be removed on save";
      return stored ? "Stored (never shown)" : "None";
    }
    if (!props.value) return "None";
    const certs = props.value.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
    return `${fileName ? `${fileName}: ` : ""}${certs === 1 ? "1 certificate" : `${certs} certificates`}, ${props.value.length} characters`;
  })();
  const canRemove = props.secret ? props.secret.change === "set" || (props.secret.stored && props.secret.change === "keep") : Boolean(props.value);
  const remove = () => {
    setFileName(undefined);
    if (props.secret) {
      if (props.secret.change === "set") props.secret.onKeep();
      else props.secret.onClear();
    } else props.onValue?.(null);
  };

  return (
    <div class="pem-field" role="group" aria-labelledby={`${id}-label`}>
      <span class="pem-label" id={`${id}-label`}>
        {props.label}
      </span>
      <div class="pem-state">
        <span class="muted" id={`${id}-state`}>
          {state}
        </span>
        <input type="file" accept=".pem,.crt,.cer,.key,text/plain" aria-label={`Choose the ${props.label} file (PEM)`} aria-describedby={`${id}-state`} onChange={(e) => void choose(e.currentTarget)} />
        {canRemove && (
          <button type="button" class="btn small" onClick={remove}>
            {props.secret?.change === "set" ? "Undo" : "Remove"}
          </button>
        )}
        {props.secret?.change === "clear" && (
          <button type="button" class="btn small" onClick={props.secret.onKeep}>
            Keep it
          </button>
        )}
      </div>
      {props.hint && <span class="hint">{props.hint}</span>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
