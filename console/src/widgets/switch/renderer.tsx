import type { RendererProps } from "../types.js";
import { ConfirmBar, ControlStatus, ReadOnlyWrap, useConfirmedSend } from "../controls/control_parts.js";
import { useControl } from "../controls/use_control.js";
import { isOn, type SwitchOptions } from "./options.js";

export function SwitchRenderer({ widget, options, ctx }: RendererProps<SwitchOptions>) {
  const control = useControl(ctx, widget, options);
  const confirm = useConfirmedSend(options.confirm, control.send);
  const on = isOn(control.last?.value);
  const state = on === undefined ? "unknown" : on ? options.on_text : options.off_text;
  return (
    <div class="control control-switch">
      <ReadOnlyWrap readOnly={ctx.readOnly}>
        <button
          type="button"
          role="switch"
          class={`switch-track${on ? " on" : ""}`}
          aria-checked={on === true}
          aria-label={widget.label || "Switch"}
          disabled={ctx.readOnly || control.busy || confirm.pending !== undefined}
          onClick={() => confirm.request(!on)}
        >
          <span class="switch-thumb" />
        </button>
      </ReadOnlyWrap>
      <span class="switch-state" aria-hidden="true">
        {state}
      </span>
      {confirm.pending && (
        <ConfirmBar question={options.confirm_text} shown={confirm.pending.value ? options.on_text : options.off_text} onAccept={confirm.accept} onCancel={confirm.cancel} />
      )}
      <ControlStatus control={control} />
    </div>
  );
}
