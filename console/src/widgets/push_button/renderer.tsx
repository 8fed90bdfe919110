import type { RendererProps } from "../types.js";
import { ConfirmBar, ControlStatus, ReadOnlyWrap, shownValue, useConfirmedSend } from "../controls/control_parts.js";
import { useControl } from "../controls/use_control.js";
import { buttonValue, type PushButtonOptions } from "./options.js";

export function PushButtonRenderer({ widget, options, ctx }: RendererProps<PushButtonOptions>) {
  const control = useControl(ctx, widget, options);
  const confirm = useConfirmedSend(options.confirm, control.send);
  const checked = buttonValue(options);
  return (
    <div class="control control-button">
      <ReadOnlyWrap readOnly={ctx.readOnly}>
        <button
          type="button"
          class="btn primary control-push"
          disabled={ctx.readOnly || control.busy || "error" in checked || confirm.pending !== undefined}
          onClick={() => "value" in checked && confirm.request(checked.value)}
        >
          {options.text || "Send"}
        </button>
      </ReadOnlyWrap>
      {confirm.pending && <ConfirmBar question={options.confirm_text} shown={shownValue(confirm.pending.value)} onAccept={confirm.accept} onCancel={confirm.cancel} />}
      {"error" in checked ? <p class="control-status error">{checked.error}</p> : <ControlStatus control={control} />}
    </div>
  );
}
