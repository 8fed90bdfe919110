/**
 * What every control shows around its input: the confirmation asked before sending (when the
 * widget says so), the read-only reason, and the outcome of the last send, inline.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Control } from "./use_control.js";
import "../../styles/widget_controls.css";

export const READ_ONLY_REASON = "Read only: a public link or a report shows this dashboard, and cannot send anything to devices.";

/** Holds a value until the viewer confirms it (or sends it at once when no confirmation is asked). */
export function useConfirmedSend(confirm: boolean, send: (value: string | number | boolean) => Promise<boolean>) {
  const [pending, setPending] = useState<{ value: string | number | boolean } | undefined>(undefined);
  return {
    pending,
    request(value: string | number | boolean): void {
      if (confirm) setPending({ value });
      else void send(value);
    },
    accept(): void {
      if (pending) void send(pending.value);
      setPending(undefined);
    },
    cancel(): void {
      setPending(undefined);
    },
  };
}

export function ConfirmBar(props: { question: string; shown: string; onAccept(): void; onCancel(): void }) {
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => yes.current?.focus(), []);
  return (
    <div class="control-confirm" role="group" aria-label={props.question} onKeyDown={(e) => e.key === "Escape" && props.onCancel()}>
      <span>
        {props.question} <strong>{props.shown}</strong>
      </span>
      <span class="control-confirm-buttons">
        <button ref={yes} type="button" class="btn primary small" onClick={props.onAccept}>
          Send
        </button>
        <button type="button" class="btn small" onClick={props.onCancel}>
          Cancel
        </button>
      </span>
    </div>
  );
}

/** Wraps a disabled control so the reason shows as a tooltip (a disabled element gets no pointer events). */
export function ReadOnlyWrap(props: { readOnly: boolean; children: ComponentChildren }) {
  if (!props.readOnly) return <>{props.children}</>;
  return (
    <span class="control-readonly" title={READ_ONLY_REASON}>
      {props.children}
      <span class="visually-hidden">{READ_ONLY_REASON}</span>
    </span>
  );
}

export function ControlStatus({ control }: { control: Control }) {
  if (control.error !== undefined) {
    return (
      <p class="control-status error" role="alert" title={control.error}>
        {control.error}
      </p>
    );
  }
  return (
    <p class="control-status muted" aria-live="polite">
      {control.busy ? "Sending…" : control.sent ? "Sent" : control.loadError !== undefined ? `Could not read the last value: ${control.loadError}` : ""}
    </p>
  );
}

/** A value as a person reads it. */
export function shownValue(value: string | number | boolean | undefined): string {
  if (value === undefined) return "—";
  if (typeof value === "boolean") return value ? "on" : "off";
  return String(value);
}
