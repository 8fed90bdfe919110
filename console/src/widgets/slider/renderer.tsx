import { useEffect, useState } from "preact/hooks";
import type { RendererProps } from "../types.js";
import { ConfirmBar, ControlStatus, ReadOnlyWrap, useConfirmedSend } from "../controls/control_parts.js";
import { useControl } from "../controls/use_control.js";
import { clampToSlider, type SliderOptions } from "./options.js";

export function SliderRenderer({ widget, options, ctx }: RendererProps<SliderOptions>) {
  const control = useControl(ctx, widget, options);
  const confirm = useConfirmedSend(options.confirm, control.send);
  const last = typeof control.last?.value === "number" ? control.last.value : Number(control.last?.value);
  const stored = Number.isFinite(last) && control.last?.value !== undefined ? clampToSlider(last, options) : undefined;
  // While dragging the thumb shows the dragged value; the device's last value comes back after a send or a live record.
  const [dragged, setDragged] = useState<number | undefined>(undefined);
  useEffect(() => setDragged(undefined), [control.last?.time]);
  const shown = dragged ?? stored ?? options.min;
  const unit = options.unit ? ` ${options.unit}` : "";
  const id = `slider-${widget.id}`;
  return (
    <div class="control control-slider">
      <div class="slider-value">
        <output for={id} aria-live="off">
          {shown}
          {unit}
        </output>
        <span class="muted small">{stored === undefined ? "no value yet" : dragged !== undefined && dragged !== stored ? `last ${stored}${unit}` : ""}</span>
      </div>
      <ReadOnlyWrap readOnly={ctx.readOnly}>
        <input
          id={id}
          type="range"
          min={options.min}
          max={options.max}
          step={options.step}
          value={shown}
          aria-label={widget.label || "Slider"}
          aria-valuetext={`${shown}${unit}`}
          disabled={ctx.readOnly || control.busy || confirm.pending !== undefined}
          onInput={(e) => setDragged(e.currentTarget.valueAsNumber)}
          // `change` fires on release (and on each keyboard step): one send per choice, not per pixel dragged.
          onChange={(e) => confirm.request(clampToSlider(e.currentTarget.valueAsNumber, options))}
        />
      </ReadOnlyWrap>
      <div class="slider-bounds muted small" aria-hidden="true">
        <span>{options.min}</span>
        <span>{options.max}</span>
      </div>
      {confirm.pending && <ConfirmBar question={options.confirm_text} shown={`${String(confirm.pending.value)}${unit}`} onAccept={confirm.accept} onCancel={() => {
            confirm.cancel();
            setDragged(undefined);
          }} />}
      <ControlStatus control={control} />
    </div>
  );
}
